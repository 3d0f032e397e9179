//! Validation and cleaning of everything people type. Each refusal names the field and the rule.

use tack_protocol::ApiError;

pub const MAX_TEXT: usize = 64 * 1024;
pub const MAX_TITLE: usize = 200;
pub const MAX_LABELS: usize = 20;
pub const MAX_LABEL_LEN: usize = 32;

/// Removes what could drive another person's terminal: ESC and other C0 controls (but `\n` and
/// `\t`), DEL, C1 controls, and bidi overrides that would reorder what they see.
pub fn clean_text(input: &str) -> String {
    input
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| {
            let code = *c as u32;
            let c0 = code < 0x20 && *c != '\n' && *c != '\t';
            let c1 = (0x7f..=0x9f).contains(&code);
            let bidi = matches!(code, 0x202a..=0x202e | 0x2066..=0x2069 | 0x200e | 0x200f | 0x061c);
            !(c0 || c1 || bidi)
        })
        .collect()
}

/// A single line of text: cleaned, newlines and tabs turned to spaces, trimmed.
pub fn clean_line(input: &str) -> String {
    clean_text(input)
        .replace(['\n', '\t'], " ")
        .trim()
        .to_string()
}

pub fn handle(value: &str) -> Result<String, ApiError> {
    let value = value.trim().trim_start_matches('@');
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !first_ok || !rest_ok || !(2..=32).contains(&value.len()) {
        return Err(ApiError::invalid(
            "handle",
            format!(
                "'{}' is not a valid handle: use 2–32 characters, a lowercase letter first, then lowercase letters, digits, '_' or '-'",
                clean_line(value)
            ),
        ));
    }
    Ok(value.to_string())
}

pub fn display_name(value: &str) -> Result<String, ApiError> {
    let value = clean_line(value);
    if value.is_empty() || value.chars().count() > 64 {
        return Err(ApiError::invalid("display_name", "must be 1–64 characters"));
    }
    Ok(value)
}

pub fn email(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(clean_line).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !value.contains(' ')
        });
    if !valid {
        return Err(ApiError::invalid(
            "email",
            format!("'{value}' is not an email address like name@example.com"),
        ));
    }
    Ok(Some(value))
}

pub fn project_key(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    let rest_ok = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !first_ok || !rest_ok || !(2..=10).contains(&value.len()) {
        return Err(ApiError::invalid(
            "key",
            format!(
                "'{}' is not a valid project key: use 2–10 characters, an uppercase letter first, then uppercase letters or digits (e.g. TACK)",
                clean_line(value)
            ),
        ));
    }
    Ok(value.to_string())
}

pub fn name(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = clean_line(value);
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be 1–{max} characters"),
        ));
    }
    Ok(value)
}

pub fn title(value: &str) -> Result<String, ApiError> {
    let value = clean_line(value);
    let len = value.chars().count();
    if len == 0 {
        return Err(ApiError::invalid("title", "must not be empty"));
    }
    if len > MAX_TITLE {
        return Err(ApiError::invalid(
            "title",
            format!("is {len} characters; the limit is {MAX_TITLE}"),
        ));
    }
    Ok(value)
}

/// Long text (descriptions, comments): cleaned, at most 64 KiB.
pub fn body(field: &str, value: &str, allow_empty: bool) -> Result<String, ApiError> {
    let value = clean_text(value);
    let trimmed = value.trim_end().to_string();
    if trimmed.len() > MAX_TEXT {
        return Err(ApiError::invalid(
            field,
            format!(
                "is {} bytes; the limit is {MAX_TEXT} (64 KiB)",
                trimmed.len()
            ),
        ));
    }
    if !allow_empty && trimmed.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    Ok(trimmed)
}

pub fn labels(values: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let label = clean_line(value).to_lowercase();
        if label.is_empty() || label.chars().count() > MAX_LABEL_LEN {
            return Err(ApiError::invalid(
                "labels",
                format!("each label must be 1–{MAX_LABEL_LEN} characters"),
            ));
        }
        if !out.contains(&label) {
            out.push(label);
        }
    }
    if out.len() > MAX_LABELS {
        return Err(ApiError::invalid(
            "labels",
            format!("an issue may have at most {MAX_LABELS} labels"),
        ));
    }
    Ok(out)
}

pub fn estimate(value: Option<u32>) -> Result<Option<u32>, ApiError> {
    match value {
        Some(points) if points > 1000 => {
            Err(ApiError::invalid("estimate", "must be between 0 and 1000"))
        }
        other => Ok(other),
    }
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn due(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid(
            "due",
            format!(
                "'{}' is not a date; use YYYY-MM-DD, e.g. 2026-12-31",
                clean_line(value)
            ),
        )
    };
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (year, month, day): (u32, u32, u32) = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => (y, m, d),
        _ => return Err(bad()),
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1970..=9999).contains(&year) || day == 0 || day > days {
        return Err(bad());
    }
    Ok(Some(value.to_string()))
}

pub fn state_name(value: &str) -> Result<String, ApiError> {
    name("state", value, 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        let hostile = "ok\u{1b}[2J\u{7}\u{9b}31m\u{202e}evil\r\nnext\tcol\u{7f}";
        assert_eq!(clean_text(hostile), "ok[2J31mevil\nnext\tcol");
        assert_eq!(clean_line("a\nb\tc  "), "a b c");
    }

    #[test]
    fn handles_follow_the_rule() {
        assert_eq!(handle("@alice").unwrap(), "alice");
        for bad in ["A", "1abc", "a", "al ice", "é", &"a".repeat(33)] {
            let err = handle(bad).unwrap_err();
            assert!(
                matches!(&err, ApiError::Invalid { field, .. } if field == "handle"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn project_keys_follow_the_rule() {
        assert!(project_key("TACK").is_ok());
        assert!(project_key("T2").is_ok());
        for bad in ["tack", "T", "2T", "TOOLONGKEY1", "TA-CK"] {
            assert!(project_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn titles_are_bounded() {
        assert!(title("  ").is_err());
        assert!(
            title(&"x".repeat(201))
                .unwrap_err()
                .to_string()
                .contains("201")
        );
        assert_eq!(title(" Crash\non resize ").unwrap(), "Crash on resize");
    }

    #[test]
    fn due_dates_are_real_dates() {
        assert_eq!(
            due(Some("2028-02-29")).unwrap().as_deref(),
            Some("2028-02-29")
        );
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "tomorrow",
            "2026-1-1",
            "2026-04-31",
        ] {
            assert!(due(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(due(None).unwrap(), None);
    }

    #[test]
    fn labels_are_normalised_and_bounded() {
        assert_eq!(
            labels(&["Bug".into(), "bug".into(), " UI ".into()]).unwrap(),
            ["bug", "ui"]
        );
        assert!(labels(&[String::new()]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
        assert!(labels(&many).is_err());
    }
}
