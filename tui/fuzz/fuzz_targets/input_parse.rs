#![no_main]
//! Arbitrary bytes, in arbitrary chunks, into the session input parser: it must never panic and
//! never hold on to unbounded input.
//!
//! terminput itself panics on some sequences (an overflow in its mouse parser); the parser
//! contains those with `catch_unwind`. libFuzzer's panic hook would abort even on a contained
//! panic, so the hook is silenced here: a panic that escapes the parser still unwinds into
//! libFuzzer's C frame and aborts, and is reported.

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use tack_tui::InputParser;

static QUIET_CONTAINED_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET_CONTAINED_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let mut parser = InputParser::default();
    let split = data.first().map_or(1, |b| usize::from(*b % 16) + 1);
    for chunk in data.chunks(split) {
        let _ = parser.feed(chunk);
        assert!(parser.buffered() <= 70 * 1024, "input piles up");
    }
    let _ = parser.flush_escape();
});
