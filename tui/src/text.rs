//! User text, made safe to draw: the service already removed control characters, and here the
//! characters that could still mislead a reader (bidi overrides, zero-width joiners and spaces)
//! go too. Everything a person typed is drawn through this.

pub fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| {
            let code = *c as u32;
            let control = code < 0x20 && *c != '\n' && *c != '\t' || (0x7f..=0x9f).contains(&code);
            let bidi = matches!(code, 0x202a..=0x202e | 0x2066..=0x2069 | 0x200e | 0x200f | 0x061c);
            let zero_width = matches!(code, 0x200b..=0x200d | 0x2060 | 0xfeff);
            !(control || bidi || zero_width)
        })
        .collect()
}

/// One line of user text, cut to `width` characters with an ellipsis.
pub fn line(text: &str, width: usize) -> String {
    let clean: String = plain(text).replace(['\n', '\t'], " ");
    if clean.chars().count() <= width {
        return clean;
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_bidi_and_zero_width_are_gone() {
        assert_eq!(
            plain("a\u{1b}]52;c;ZXZpbA==\u{7}b\u{202e}c\u{200b}d"),
            "a]52;c;ZXZpbA==bcd"
        );
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        assert_eq!(line("hello world", 5), "hell…");
        assert_eq!(line("a\nb", 5), "a b");
    }
}
