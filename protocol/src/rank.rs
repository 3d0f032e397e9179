//! Ranks order issues within a board column. A rank is a string of base-36 digits compared as
//! bytes; between any two ranks there is always room for another, so moving a card rewrites one
//! issue, never its neighbours.

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const BASE: u32 = 36;

fn digit_value(byte: u8) -> u32 {
    match byte {
        b'0'..=b'9' => u32::from(byte - b'0'),
        b'a'..=b'z' => u32::from(byte - b'a') + 10,
        _ => 0,
    }
}

/// A rank strictly between `before` and `after` (either may be absent: the column's ends).
/// If the inputs are out of order, the result sorts after `before`.
pub fn between(before: Option<&str>, after: Option<&str>) -> String {
    let low = before.unwrap_or("").as_bytes();
    let high = match after {
        Some(h) if h.as_bytes() > low => Some(h.as_bytes()),
        _ => None,
    };
    let mut out = Vec::new();
    let mut bounded = high.is_some();
    let mut i = 0;
    loop {
        let lo = low.get(i).map_or(0, |b| digit_value(*b));
        let hi = match (bounded, high) {
            (true, Some(h)) => h.get(i).map_or(0, |b| digit_value(*b)),
            _ => BASE,
        };
        if hi > lo + 1 {
            out.push(DIGITS[((lo + hi) / 2) as usize]);
            break;
        }
        out.push(DIGITS[lo as usize]);
        if hi == lo + 1 {
            bounded = false;
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Digits an appended rank is counted in: 36^5 appends before a rank grows longer.
const APPEND_WIDTH: usize = 6;

/// The rank for a card appended after `last` (the bottom of a column). Counting up at a fixed
/// width keeps ranks short however many cards are appended (halving the gap to the end each time
/// would add a character every few cards).
pub fn after(last: Option<&str>) -> String {
    let Some(last) = last.filter(|l| !l.is_empty()) else {
        return between(None, None);
    };
    let mut digits: Vec<u32> = last.bytes().map(digit_value).collect();
    while digits.len() < APPEND_WIDTH {
        digits.push(0);
    }
    loop {
        // Add one at the last digit, carrying.
        let mut at = digits.len();
        loop {
            if at == 0 {
                // Every digit was 'z': no room at this width, so extend instead.
                return between(Some(last), None);
            }
            at -= 1;
            if digits[at] + 1 < BASE {
                digits[at] += 1;
                break;
            }
            digits[at] = 0;
        }
        // A rank ending in '0' would leave no room just below it.
        if digits.last().is_some_and(|d| *d != 0) {
            break;
        }
    }
    digits.iter().map(|d| DIGITS[*d as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_rank_is_in_the_middle() {
        assert_eq!(between(None, None), "i");
    }

    #[test]
    fn appending_many_cards_keeps_ranks_short_and_ordered() {
        let mut last = after(None);
        for _ in 0..50_000 {
            let next = after(Some(&last));
            assert!(next > last, "{next} !> {last}");
            assert!(!next.ends_with('0'));
            last = next;
        }
        assert!(last.len() <= APPEND_WIDTH, "{last}");
        assert!(after(Some("zzzzzz")).as_str() > "zzzzzz");
    }

    #[test]
    fn repeated_inserts_at_the_top_stay_ordered() {
        let mut top = between(None, None);
        for _ in 0..200 {
            let next = between(None, Some(&top));
            assert!(next < top, "{next} !< {top}");
            top = next;
        }
    }

    fn rank_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..36, 1..6).prop_map(|digits| {
            let mut s: String = digits.iter().map(|d| DIGITS[*d] as char).collect();
            // Ranks we generate never end in '0'; keep inputs in that domain.
            if s.ends_with('0') {
                s.push('i');
            }
            s
        })
    }

    proptest! {
        #[test]
        fn between_is_strictly_between(a in rank_strategy(), b in rank_strategy()) {
            prop_assume!(a != b);
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let mid = between(Some(&lo), Some(&hi));
            prop_assert!(lo < mid && mid < hi, "{} < {} < {}", lo, mid, hi);
            prop_assert!(!mid.ends_with('0'));
        }

        #[test]
        fn open_ends_are_respected(a in rank_strategy()) {
            let below = between(None, Some(&a));
            let above = between(Some(&a), None);
            prop_assert!(below < a && a < above);
            let appended = after(Some(&a));
            prop_assert!(a < appended && !appended.ends_with('0'));
        }
    }
}
