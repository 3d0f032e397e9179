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

/// `30m`, `12h`, `7d` → seconds.
pub fn duration_secs(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(number * scale)
}

/// A size for people: `512 B`, `3.2 KiB`, `1.5 MiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) of a timestamp in milliseconds.
pub fn when(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (h, m) = (secs.rem_euclid(86_400) / 3600, secs.rem_euclid(3600) / 60);
    format!("{} {h:02}:{m:02}", date_after(secs.div_euclid(86_400), 0))
}

/// Days since the Unix epoch, today (UTC).
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 86_400) as i64
}

/// `YYYY-MM-DD` of `days` after the epoch day `from` (Howard Hinnant's civil-from-days).
pub fn date_after(from: i64, days: i64) -> String {
    let z = from + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
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
    fn civil_dates() {
        assert_eq!(date_after(0, 0), "1970-01-01");
        assert_eq!(date_after(20_454, 0), "2026-01-01");
        assert_eq!(date_after(20_454, 59), "2026-03-01");
    }

    #[test]
    fn long_lines_are_cut_with_an_ellipsis() {
        assert_eq!(line("hello world", 5), "hell…");
        assert_eq!(line("a\nb", 5), "a b");
    }
}
