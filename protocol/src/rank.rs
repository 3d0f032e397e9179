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

/// The rank for a card appended after `last` (the bottom of a column).
pub fn after(last: Option<&str>) -> String {
    between(last, None)
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
        }
    }
}
