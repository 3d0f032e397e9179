//! Snippets with the matched words marked, for search results.

use tack_protocol::query::edit_distance;

/// Whether a word of the text answers a word of the query (as the index matches: the word
/// itself, a word it starts, or one typo away).
fn answers(token: &str, word: &str) -> bool {
    let (t, w) = (token.chars().count(), word.chars().count());
    token.starts_with(word)
        || (w >= 4
            && t.abs_diff(w) <= 2
            && edit_distance(token, word) <= if w >= 8 { 2 } else { 1 })
}

/// A window of about `width` characters of `text` around its first match, and the character
/// ranges of the matches in it; `None` when nothing in `text` matches.
pub fn snippet(text: &str, words: &[String], width: usize) -> Option<(String, Vec<(u32, u32)>)> {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect::<String>().to_lowercase();
        if words.iter().any(|w| answers(&token, w)) {
            hits.push((start, i));
        }
    }
    let first = hits.first()?.0;
    let mut from = first.saturating_sub(width / 3);
    while from > 0 && chars[from - 1].is_alphanumeric() {
        from -= 1;
    }
    let to = (from + width).min(chars.len());
    let mut out = String::new();
    let mut offset = 0u32;
    if from > 0 {
        out.push('…');
        offset = 1;
    }
    out.extend(&chars[from..to]);
    if to < chars.len() {
        out.push('…');
    }
    let ranges = hits
        .into_iter()
        .filter(|(s, e)| *s >= from && *e <= to)
        .map(|(s, e)| ((s - from) as u32 + offset, (e - from) as u32 + offset))
        .collect();
    Some((out, ranges))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_marked_in_a_window_around_the_first() {
        let words = vec!["crash".to_string()];
        let (text, ranges) = snippet("The board crashes on resize", &words, 80).unwrap();
        assert_eq!(text, "The board crashes on resize");
        assert_eq!(ranges, vec![(10, 17)], "a prefix of the word matches it");
        let long = format!(
            "{} the crash is here {}",
            "word ".repeat(40),
            "tail ".repeat(40)
        );
        let (text, ranges) = snippet(&long, &words, 40).unwrap();
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        let (s, e) = ranges[0];
        let marked: String = text
            .chars()
            .skip(s as usize)
            .take((e - s) as usize)
            .collect();
        assert_eq!(marked, "crash");
        let typo = vec!["resise".to_string()];
        assert!(snippet("on resize", &typo, 80).is_some(), "one typo away");
        assert!(snippet("nothing here", &words, 80).is_none());
    }
}
