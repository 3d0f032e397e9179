#![no_main]
//! Arbitrary bytes into the frame decoder: it must never panic, and never allocate past its limit.

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tack_protocol::codec::{DEFAULT_DECODE_LIMIT, FrameCodec, decode_payload};
use tack_protocol::{ClientHello, RequestFrame, ServerFrame};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    let mut codec = FrameCodec::<RequestFrame, RequestFrame>::new(DEFAULT_DECODE_LIMIT);
    while let Ok(Some(_)) = codec.decode(&mut buf) {}
    let _ = decode_payload::<ServerFrame>(data, DEFAULT_DECODE_LIMIT);
    let _ = decode_payload::<ClientHello>(data, DEFAULT_DECODE_LIMIT);
});
