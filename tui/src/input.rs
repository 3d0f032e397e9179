//! Terminal input bytes → events. terminput's parser (crossterm's, made public) decodes one event
//! from the front of a buffer but does not say how many bytes it used, and it can panic on some
//! malformed sequences; this wrapper finds each event's length, contains panics, and drops bytes
//! that can never parse, so hostile input costs a few dropped bytes and nothing else.

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use terminput::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
    ScrollDirection,
};

/// A sequence longer than this that still has not parsed is garbage.
const MAX_SEQUENCE: usize = 64;
/// Pastes are capped; the rest of an oversized paste is dropped.
const MAX_PASTE: usize = 64 * 1024;
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";
/// An oversized paste is skipped up to its end marker, but no further than this: a terminal
/// that never sends the end must not eat the person's typing for good.
const MAX_PASTE_SKIP: usize = 16 * 1024 * 1024;

#[derive(Default)]
pub struct InputParser {
    pending: Vec<u8>,
    /// An oversized paste being skipped: its first `MAX_PASTE` bytes, and how much was skipped.
    oversized: Option<(Vec<u8>, usize)>,
}

fn parse(bytes: &[u8]) -> Result<Option<Event>, ()> {
    match catch_unwind(AssertUnwindSafe(|| Event::parse_from(bytes))) {
        Ok(Ok(event)) => Ok(event),
        Ok(Err(_)) | Err(_) => Err(()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl InputParser {
    /// Feeds bytes from the client; returns every complete event they finish.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        loop {
            if let Some((kept, skipped)) = &mut self.oversized {
                // The rest of an oversized paste is text, never keys: skip it to its end.
                match find(&self.pending, PASTE_END) {
                    Some(end) => {
                        let text = String::from_utf8_lossy(kept).into_owned();
                        events.push(Event::Paste(text));
                        self.pending.drain(..end + PASTE_END.len());
                        self.oversized = None;
                        continue;
                    }
                    None => {
                        // Keep a possible start of the end marker.
                        let keep = self.pending.len().min(PASTE_END.len() - 1);
                        let drop = self.pending.len() - keep;
                        *skipped += drop;
                        self.pending.drain(..drop);
                        if *skipped > MAX_PASTE_SKIP {
                            self.oversized = None;
                        }
                        break;
                    }
                }
            }
            if self.pending.is_empty() {
                break;
            }
            if self.pending.starts_with(PASTE_START) {
                match find(&self.pending[PASTE_START.len()..], PASTE_END) {
                    Some(end) => {
                        let body = &self.pending[PASTE_START.len()..PASTE_START.len() + end];
                        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_PASTE)])
                            .into_owned();
                        events.push(Event::Paste(text));
                        self.pending
                            .drain(..PASTE_START.len() + end + PASTE_END.len());
                        continue;
                    }
                    None if self.pending.len()
                        > MAX_PASTE + PASTE_START.len() + PASTE_END.len() =>
                    {
                        // Too long to hold: keep its start, skip the rest up to its end.
                        let kept =
                            self.pending[PASTE_START.len()..PASTE_START.len() + MAX_PASTE].to_vec();
                        self.pending.drain(..PASTE_START.len() + MAX_PASTE);
                        self.oversized = Some((kept, 0));
                        continue;
                    }
                    None => break,
                }
            }
            match self.next_event() {
                Step::Event(event, used) => {
                    events.push(event);
                    self.pending.drain(..used);
                }
                Step::Skip(n) => {
                    self.pending.drain(..n);
                }
                Step::NeedMore => break,
            }
        }
        events
    }

    /// Bytes held back, waiting for the rest of a sequence.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Whether a lone ESC is waiting: the driver calls `flush_escape` if nothing follows soon.
    pub fn waiting_for_escape(&self) -> bool {
        self.pending == b"\x1b"
    }

    /// A lone ESC that no more bytes followed: the Escape key.
    pub fn flush_escape(&mut self) -> Option<Event> {
        if self.pending == b"\x1b" {
            self.pending.clear();
            return Some(Event::Key(KeyEvent::new(KeyCode::Esc)));
        }
        None
    }

    fn next_event(&self) -> Step {
        let buf = &self.pending;
        if buf.as_slice() == b"\x1b" {
            // The driver calls `flush_escape` if nothing follows soon.
            return Step::NeedMore;
        }
        let limit = buf.len().min(MAX_SEQUENCE);
        // The shortest prefix that parses is the event. ESC alone is ambiguous while more bytes
        // follow it (it starts every escape sequence), so it only counts as Escape at the end.
        let start = if buf[0] == 0x1b && buf.len() > 1 {
            2
        } else {
            1
        };
        for len in start..=limit {
            match parse(&buf[..len]) {
                Ok(Some(event)) => return Step::Event(event, len),
                Ok(None) => continue,
                Err(()) => return Step::Skip(1),
            }
        }
        if buf.len() >= MAX_SEQUENCE {
            Step::Skip(1)
        } else {
            Step::NeedMore
        }
    }
}

enum Step {
    Event(Event, usize),
    Skip(usize),
    NeedMore,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(events: &[Event]) -> Vec<KeyCode> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Key(k) => Some(k.code),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_keys_arrows_and_utf8() {
        let mut parser = InputParser::default();
        let events = parser.feed("jk\x1b[A\x1b[Bé".as_bytes());
        assert_eq!(
            keys(&events),
            [
                KeyCode::Char('j'),
                KeyCode::Char('k'),
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Char('é')
            ]
        );
    }

    #[test]
    fn sequences_split_across_reads_are_joined() {
        let mut parser = InputParser::default();
        assert!(parser.feed(b"\x1b[").is_empty());
        assert_eq!(keys(&parser.feed(b"C")), [KeyCode::Right]);
    }

    #[test]
    fn a_lone_escape_is_the_escape_key_once_flushed() {
        let mut parser = InputParser::default();
        assert!(parser.feed(b"\x1b").is_empty());
        assert!(matches!(parser.flush_escape(), Some(Event::Key(k)) if k.code == KeyCode::Esc));
    }

    #[test]
    fn bracketed_paste_arrives_whole() {
        let mut parser = InputParser::default();
        let events = parser.feed(b"\x1b[200~line one\nline \x1b[31m two\x1b[201~x");
        assert!(matches!(&events[0], Event::Paste(text) if text == "line one\nline \x1b[31m two"));
        assert_eq!(keys(&events[1..]), [KeyCode::Char('x')]);
    }

    #[test]
    fn the_sequence_that_panics_terminput_is_contained() {
        let mut parser = InputParser::default();
        let events = parser.feed(b"\x1b[51;0Mq");
        assert_eq!(keys(&events).last(), Some(&KeyCode::Char('q')));
    }

    #[test]
    fn an_oversized_paste_never_piles_up_and_never_turns_into_keys() {
        let mut parser = InputParser::default();
        assert!(parser.feed(PASTE_START).is_empty());
        let chunk = vec![b'a'; 4096];
        // Four times the cap, in the chunks a terminal sends: the buffer never holds more.
        let mut events = Vec::new();
        for _ in 0..(4 * MAX_PASTE / chunk.len()) {
            events.extend(parser.feed(&chunk));
            assert!(parser.pending.len() <= MAX_PASTE + PASTE_START.len() + PASTE_END.len());
        }
        assert!(keys(&events).is_empty(), "pasted text became keystrokes");
        // The end of the paste gives its first part as text; typing goes on after it.
        let events = parser.feed(b"\x1b[201~q");
        assert!(matches!(&events[0], Event::Paste(text) if text.len() == MAX_PASTE));
        assert_eq!(keys(&events[1..]), [KeyCode::Char('q')]);
    }

    #[test]
    fn a_paste_that_never_ends_stops_being_skipped_in_the_end() {
        let mut parser = InputParser::default();
        let _ = parser.feed(PASTE_START);
        let chunk = vec![b'b'; 1 << 20];
        for _ in 0..(MAX_PASTE_SKIP / chunk.len() + 2) {
            let _ = parser.feed(&chunk);
        }
        let events = parser.feed(b"q");
        assert_eq!(keys(&events), [KeyCode::Char('q')]);
    }

    #[test]
    fn a_closed_paste_larger_than_the_cap_arrives_cut_to_it() {
        let mut parser = InputParser::default();
        let mut bytes = PASTE_START.to_vec();
        bytes.extend(std::iter::repeat_n(b'z', MAX_PASTE * 2));
        bytes.extend_from_slice(PASTE_END);
        let mut events = Vec::new();
        for chunk in bytes.chunks(8192) {
            events.extend(parser.feed(chunk));
        }
        assert!(parser.pending.len() <= MAX_PASTE + PASTE_START.len() + PASTE_END.len());
        let pasted: usize = events
            .iter()
            .map(|e| match e {
                Event::Paste(text) => text.len(),
                _ => 0,
            })
            .sum();
        assert!(pasted <= MAX_PASTE, "{pasted} bytes pasted");
        assert!(keys(&events).is_empty(), "pasted text became keystrokes");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_never_pile_up(
            open_paste in any::<bool>(),
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8192), 0..40),
        ) {
            let mut parser = InputParser::default();
            if open_paste {
                let _ = parser.feed(PASTE_START);
            }
            for chunk in chunks {
                let _ = parser.feed(&chunk);
                prop_assert!(parser.pending.len() <= MAX_PASTE + PASTE_START.len() + PASTE_END.len());
            }
        }
    }
}
