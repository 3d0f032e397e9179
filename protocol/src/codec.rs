//! Frames: a u32 big-endian payload length, then a bincode 2 payload (`config::standard()`).
//!
//! The length is checked against the decode limit before a byte of the payload is buffered, and
//! bincode decodes with a limit too, so a frame that claims a huge string cannot make us allocate
//! it. Trailing bytes after the message are an error, not silently ignored.

use std::marker::PhantomData;

use bincode::config::{self, Config};
use bincode::{Decode, Encode};
use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

pub const DEFAULT_DECODE_LIMIT: usize = 1024 * 1024;
const HEADER_LEN: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("frame could not be decoded: {0}")]
    Decode(String),
    #[error("frame has {extra} unexpected trailing bytes after the message")]
    TrailingBytes { extra: usize },
    #[error("message could not be encoded: {0}")]
    Encode(String),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Encodes one message with the protocol's bincode configuration.
pub fn encode_payload<T: Encode>(message: &T) -> Result<Vec<u8>, FrameError> {
    bincode::encode_to_vec(message, config::standard())
        .map_err(|e| FrameError::Encode(e.to_string()))
}

/// Decodes exactly one message from `bytes`, allocating at most about `limit` bytes.
pub fn decode_payload<T: Decode<()>>(bytes: &[u8], limit: usize) -> Result<T, FrameError> {
    if bytes.len() > limit {
        return Err(FrameError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    // bincode takes its limit as a const generic; the configured limit picks the smallest
    // bucket that holds it, so a hostile claim allocates at most twice the configured limit.
    let decoded = match limit {
        0..=0x10_0000 => decode_with(bytes, config::standard().with_limit::<0x10_0000>()),
        0x10_0001..=0x40_0000 => decode_with(bytes, config::standard().with_limit::<0x40_0000>()),
        0x40_0001..=0x100_0000 => decode_with(bytes, config::standard().with_limit::<0x100_0000>()),
        _ => decode_with(bytes, config::standard().with_limit::<0x400_0000>()),
    }?;
    let (message, used) = decoded;
    if used != bytes.len() {
        return Err(FrameError::TrailingBytes {
            extra: bytes.len() - used,
        });
    }
    Ok(message)
}

fn decode_with<T: Decode<()>, C: Config>(bytes: &[u8], cfg: C) -> Result<(T, usize), FrameError> {
    bincode::decode_from_slice(bytes, cfg).map_err(|e| FrameError::Decode(e.to_string()))
}

/// Appends one whole frame for `message` to `dst`.
pub fn write_frame<T: Encode>(message: &T, dst: &mut BytesMut) -> Result<(), FrameError> {
    let payload = encode_payload(message)?;
    let len = u32::try_from(payload.len()).map_err(|_| {
        FrameError::Encode(format!("message of {} bytes is too large", payload.len()))
    })?;
    dst.reserve(HEADER_LEN + payload.len());
    dst.put_u32(len);
    dst.extend_from_slice(&payload);
    Ok(())
}

/// A tokio codec that reads frames of `In` and writes frames of `Out`.
pub struct FrameCodec<In, Out> {
    limit: usize,
    _types: PhantomData<fn(Out) -> In>,
}

impl<In, Out> FrameCodec<In, Out> {
    pub fn new(limit: usize) -> Self {
        FrameCodec {
            limit,
            _types: PhantomData,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl<In, Out> Default for FrameCodec<In, Out> {
    fn default() -> Self {
        Self::new(DEFAULT_DECODE_LIMIT)
    }
}

impl<In: Decode<()>, Out> Decoder for FrameCodec<In, Out> {
    type Item = In;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, FrameError> {
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > self.limit {
            return Err(FrameError::TooLarge {
                len,
                limit: self.limit,
            });
        }
        if src.len() < HEADER_LEN + len {
            src.reserve(HEADER_LEN + len - src.len());
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        let payload = src.split_to(len);
        decode_payload(&payload, self.limit).map(Some)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<In>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated),
        }
    }
}

impl<In, Out: Encode> Encoder<Out> for FrameCodec<In, Out> {
    type Error = FrameError;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), FrameError> {
        write_frame(&item, dst)
    }
}

/// Writes `first` and every frame already queued behind it, then flushes once, so pipelined
/// frames share one write.
pub async fn send_coalesced<S, T>(
    sink: &mut S,
    first: T,
    queued: &mut tokio::sync::mpsc::Receiver<T>,
) -> Result<(), S::Error>
where
    S: futures::Sink<T> + Unpin,
{
    use futures::SinkExt;
    sink.feed(first).await?;
    while let Ok(more) = queued.try_recv() {
        sink.feed(more).await?;
    }
    sink.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Request, RequestFrame};

    fn codec() -> FrameCodec<RequestFrame, RequestFrame> {
        FrameCodec::new(DEFAULT_DECODE_LIMIT)
    }

    #[test]
    fn frame_round_trips() {
        let frame = RequestFrame {
            id: 7,
            body: Request::GetIssue {
                key: "TACK-1".into(),
            },
        };
        let mut buf = BytesMut::new();
        codec().encode(frame.clone(), &mut buf).unwrap();
        assert_eq!(codec().decode(&mut buf).unwrap(), Some(frame));
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1, 2][..]);
        let err = codec().decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn huge_string_claim_does_not_allocate() {
        // A String whose varint length claims 2^40 bytes, in a 12-byte frame.
        let frame = RequestFrame {
            id: 7,
            body: Request::GetIssue { key: String::new() },
        };
        let mut payload = encode_payload(&frame).unwrap();
        assert_eq!(payload.pop(), Some(0));
        payload.push(253);
        payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = decode_payload::<RequestFrame>(&payload, DEFAULT_DECODE_LIMIT).unwrap_err();
        assert!(matches!(err, FrameError::Decode(_)), "{err}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let frame = RequestFrame {
            id: 1,
            body: Request::Whoami,
        };
        let mut payload = encode_payload(&frame).unwrap();
        payload.push(0);
        let err = decode_payload::<RequestFrame>(&payload, DEFAULT_DECODE_LIMIT).unwrap_err();
        assert!(
            matches!(err, FrameError::TrailingBytes { extra: 1 }),
            "{err}"
        );
    }

    #[test]
    fn truncated_frame_at_eof_is_an_error() {
        let frame = RequestFrame {
            id: 1,
            body: Request::Whoami,
        };
        let mut buf = BytesMut::new();
        codec().encode(frame, &mut buf).unwrap();
        buf.truncate(buf.len() - 1);
        assert!(matches!(
            codec().decode_eof(&mut buf),
            Err(FrameError::Truncated)
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::api::{RequestFrame, ServerFrame};
    use crate::handshake::{ClientHello, ServerHello};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// Strategies for the deepest messages are built recursively and need more stack than a
    /// test thread has by default, so each property runs on a thread of its own.
    fn check<S>(
        strategy: impl FnOnce() -> S + Send + 'static,
        test: impl Fn(S::Value) + Send + 'static,
    ) where
        S: Strategy,
    {
        let worker = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || {
                let mut runner = TestRunner::new(Config::with_cases(256));
                runner
                    .run(&strategy(), |value| {
                        test(value);
                        Ok(())
                    })
                    .unwrap();
            });
        worker.unwrap().join().unwrap();
    }

    fn round_trip<T: Encode + Decode<()> + PartialEq + std::fmt::Debug>(value: T) {
        let mut buf = BytesMut::new();
        write_frame(&value, &mut buf).unwrap();
        let mut codec = FrameCodec::<T, T>::new(DEFAULT_DECODE_LIMIT);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(value));
        assert!(buf.is_empty());
    }

    #[test]
    fn every_request_round_trips() {
        check(any::<RequestFrame>, round_trip);
    }

    #[test]
    fn every_server_frame_round_trips() {
        check(any::<ServerFrame>, round_trip);
    }

    #[test]
    fn handshakes_round_trip() {
        check(any::<ClientHello>, round_trip);
        check(any::<ServerHello>, round_trip);
    }

    #[test]
    fn decoder_never_panics_on_mutated_frames() {
        let strategy = || {
            (
                any::<RequestFrame>(),
                proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            )
        };
        check(strategy, |(frame, flips)| {
            let mut bytes = encode_payload(&frame).unwrap();
            for (at, byte) in flips {
                let len = bytes.len();
                bytes[at % len] = byte;
            }
            let _ = decode_payload::<RequestFrame>(&bytes, DEFAULT_DECODE_LIMIT);
        });
    }

    proptest! {
        #[test]
        fn decoder_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::from(&bytes[..]);
            let mut codec = FrameCodec::<RequestFrame, RequestFrame>::new(DEFAULT_DECODE_LIMIT);
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
            let _ = decode_payload::<ServerFrame>(&bytes, DEFAULT_DECODE_LIMIT);
            let _ = decode_payload::<ClientHello>(&bytes, DEFAULT_DECODE_LIMIT);
        }
    }
}
