//! Text → [`Query`], with errors that point at the column of the mistake and suggest a fix.

use std::fmt;

use super::{Cmp, Expr, FLAGS, KEYS, Key, Query, Sort, Term, Value};
use crate::model::Priority;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; did you mean '{suggestion}'?")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

fn error(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
        suggestion: None,
    }
}

/// Words the grammar keeps for itself; as text they are quoted.
pub(super) fn is_reserved(word: &str) -> bool {
    matches!(word, "OR" | "NOT" | "AND")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Or,
    Not,
    /// A word as typed (quotes and all).
    Word(String),
}

struct Lexed {
    tok: Tok,
    column: usize,
}

fn lex(text: &str) -> Result<Vec<Lexed>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(Lexed {
                    tok: Tok::Open,
                    column,
                });
                i += 1;
                continue;
            }
            ')' => {
                out.push(Lexed {
                    tok: Tok::Close,
                    column,
                });
                i += 1;
                continue;
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != ')') =>
            {
                out.push(Lexed {
                    tok: Tok::Not,
                    column,
                });
                i += 1;
                continue;
            }
            _ => {}
        }
        let mut word = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() || c == '(' || c == ')' {
                break;
            }
            if c == '"' {
                let start = i;
                word.push(c);
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let q = chars[i];
                    word.push(q);
                    i += 1;
                    if q == '\\' && i < chars.len() {
                        word.push(chars[i]);
                        i += 1;
                    } else if q == '"' {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(ParseError {
                        column: start + 1,
                        message: "this quote is never closed".into(),
                        suggestion: Some(format!("{}\"", &text[byte_at(text, start)..])),
                    });
                }
                continue;
            }
            word.push(c);
            i += 1;
        }
        let tok = match word.as_str() {
            "OR" => Tok::Or,
            "NOT" => Tok::Not,
            "AND" => continue,
            _ => Tok::Word(word),
        };
        out.push(Lexed { tok, column });
    }
    Ok(out)
}

fn byte_at(text: &str, char_index: usize) -> usize {
    text.char_indices()
        .nth(char_index)
        .map_or(text.len(), |(b, _)| b)
}

/// Levenshtein distance, for suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = here;
        }
    }
    row[b.len()]
}

fn closest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let word = word.to_ascii_lowercase();
    names
        .map(|n| (distance(&word, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) || n.starts_with(&word))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.to_string())
}

/// Splits at `sep` outside quotes; each piece with its offset in characters.
fn split_outside_quotes<'a>(text: &'a str, sep: &str) -> Vec<(usize, &'a str)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && rest.starts_with(sep) {
            pieces.push((text[..start].chars().count(), &text[start..i]));
            i += sep.len();
            start = i;
            continue;
        }
        i += c.len_utf8();
    }
    pieces.push((text[..start].chars().count(), &text[start..]));
    pieces
}

fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        && parts[1].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && parts[2].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

/// `3d` → 3, `2w` → 14.
fn span(text: &str) -> Option<i64> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "d" => Some(n),
        "w" => Some(n * 7),
        _ => None,
    }
}

fn value(key: Key, text: &str, column: usize) -> Result<Value, ParseError> {
    if text.is_empty() {
        return Err(error(column, format!("{}: needs a value", key.name())));
    }
    if text.starts_with('"') {
        return unquote(text)
            .map(Value::Quoted)
            .ok_or_else(|| error(column, "a quoted value must be quoted whole"));
    }
    let user_key = matches!(
        key,
        Key::Assignee | Key::Author | Key::Mentions | Key::Commenter | Key::Watcher
    );
    if text.eq_ignore_ascii_case("@me") {
        return if user_key {
            Ok(Value::Me)
        } else {
            Err(error(
                column,
                format!("@me is a person; {} is not about people", key.name()),
            ))
        };
    }
    let lower = text.to_ascii_lowercase();
    if let Some(shift) = lower.strip_prefix("@today") {
        if !key.is_date() {
            return Err(error(
                column,
                format!("@today is a date; {} is not a date", key.name()),
            ));
        }
        if shift.is_empty() {
            return Ok(Value::Today(0));
        }
        let (sign, amount) = shift.split_at(1);
        let days = span(amount).filter(|_| sign == "+" || sign == "-");
        return match days {
            Some(days) => Ok(Value::Today(if sign == "-" { -days } else { days })),
            None => Err(ParseError {
                column,
                message: format!("'{text}' is not a day; write @today, @today+3d or @today-1w"),
                suggestion: None,
            }),
        };
    }
    if key.is_date() {
        if let Some(days) = span(&lower) {
            return Ok(Value::Ago(days));
        }
        if !is_date(text) {
            return Err(error(
                column,
                format!(
                    "'{text}' is not a date; write YYYY-MM-DD, @today, @today+3d or 7d (7 days ago)"
                ),
            ));
        }
    }
    match key {
        Key::Priority if text.parse::<Priority>().is_err() => Err(ParseError {
            column,
            message: format!("'{text}' is not a priority (none, low, medium, high, urgent)"),
            suggestion: closest(
                text,
                ["none", "low", "medium", "high", "urgent"].into_iter(),
            ),
        }),
        Key::Estimate if text.parse::<u32>().is_err() => {
            Err(error(column, format!("'{text}' is not a number of points")))
        }
        _ => Ok(Value::Word(text.to_string())),
    }
}

fn unknown_key(word: &str, column: usize) -> ParseError {
    ParseError {
        column,
        message: format!("unknown key '{word}' (quote text that has a colon)"),
        suggestion: closest(word, KEYS.iter().map(|(n, _)| *n)),
    }
}

fn key_named(name: &str, column: usize) -> Result<Key, ParseError> {
    Key::from_name(name).ok_or_else(|| unknown_key(name, column))
}

fn term(word: &str, column: usize) -> Result<Term, ParseError> {
    if let Some(text) = unquote(word).filter(|_| word.len() >= 2) {
        return Ok(Term::Text(text));
    }
    let Some((_, head)) = split_outside_quotes(word, ":").first().copied() else {
        return Ok(Term::Text(word.to_string()));
    };
    if head.len() == word.len() {
        if word.contains('"') {
            return Err(error(column, "quote a whole word, not part of it"));
        }
        return Ok(Term::Text(word.to_string()));
    }
    let rest = &word[head.len() + 1..];
    let rest_column = column + head.chars().count() + 1;
    match head.to_ascii_lowercase().as_str() {
        "no" => return Ok(Term::No(key_named(rest, rest_column)?)),
        "has" => return Ok(Term::Has(key_named(rest, rest_column)?)),
        "is" => {
            let lower = rest.to_ascii_lowercase();
            return FLAGS
                .iter()
                .find(|(n, _)| *n == lower)
                .map(|(_, f)| Term::Is(*f))
                .ok_or_else(|| ParseError {
                    column: rest_column,
                    message: format!("'is:{rest}' is not a flag"),
                    suggestion: closest(rest, FLAGS.iter().map(|(n, _)| *n))
                        .map(|f| format!("is:{f}")),
                });
        }
        _ => {}
    }
    if head.is_empty() || !head.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(error(
            column,
            format!("'{word}' is neither a key:value nor plain text; quote it to search for it"),
        ));
    }
    let key = key_named(head, column)?;
    for (symbol, cmp) in [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
    ] {
        if let Some(text) = rest.strip_prefix(symbol) {
            if !key.is_ordered() {
                return Err(error(
                    rest_column,
                    format!(
                        "{} has no order; {symbol} works on priority, estimate and dates",
                        key.name()
                    ),
                ));
            }
            let value = value(key, text, rest_column + symbol.len())?;
            return Ok(Term::Compare { key, cmp, value });
        }
    }
    let ends = split_outside_quotes(rest, "..");
    if ends.len() == 2 {
        if !key.is_ordered() {
            return Err(error(
                rest_column,
                format!(
                    "{} has no order; a..b works on priority, estimate and dates",
                    key.name()
                ),
            ));
        }
        let from = value(key, ends[0].1, rest_column + ends[0].0)?;
        let to = value(key, ends[1].1, rest_column + ends[1].0)?;
        return Ok(Term::Range { key, from, to });
    }
    if ends.len() > 2 {
        return Err(error(rest_column, "a range has one '..'"));
    }
    let mut values = Vec::new();
    for (offset, piece) in split_outside_quotes(rest, ",") {
        values.push(value(key, piece, rest_column + offset)?);
    }
    Ok(Term::Match { key, values })
}

fn sort(word: &str, column: usize) -> Result<Sort, ParseError> {
    let spec = &word[5..];
    let (name, desc) = if let Some(name) = spec.strip_suffix("-desc") {
        (name, true)
    } else if let Some(name) = spec.strip_suffix("-asc") {
        (name, false)
    } else {
        (spec, false)
    };
    if name.is_empty() {
        return Err(error(
            column + 5,
            "sort: needs a key, e.g. sort:priority-desc or sort:due",
        ));
    }
    let key = key_named(name, column + 5)?;
    let sortable = key.is_ordered() || matches!(key, Key::Project | Key::Status);
    if !sortable {
        return Err(error(
            column + 5,
            format!(
                "cannot sort by {}; sort by priority, due, created, updated, closed, estimate, status or project",
                key.name()
            ),
        ));
    }
    Ok(Sort { key, desc })
}

struct Parser {
    toks: Vec<Lexed>,
    at: usize,
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|l| &l.tok)
    }

    fn column(&self) -> usize {
        self.toks.get(self.at).map_or(self.end_column, |l| l.column)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut all = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            let next = self.and()?;
            all.push(next);
        }
        Ok(join(all, true))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut all = Vec::new();
        while !matches!(self.peek(), None | Some(Tok::Or) | Some(Tok::Close)) {
            all.push(self.unary()?);
        }
        if all.is_empty() {
            return Err(error(
                self.column(),
                "expected a term here (after OR, NOT or '(' something must follow)",
            ));
        }
        Ok(join(all, false))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let column = self.column();
        match self.toks.get(self.at).map(|l| l.tok.clone()) {
            Some(Tok::Not) => {
                self.at += 1;
                if matches!(self.peek(), None | Some(Tok::Or) | Some(Tok::Close)) {
                    return Err(error(column, "NOT or '-' needs something to negate"));
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(ParseError {
                        column,
                        message: "this '(' is never closed".into(),
                        suggestion: None,
                    });
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Tok::Word(word)) => {
                self.at += 1;
                Ok(Expr::Term(term(&word, column)?))
            }
            Some(Tok::Close) => Err(error(column, "a ')' without its '('")),
            Some(Tok::Or) | None => Err(error(column, "expected a term here")),
        }
    }
}

/// Builds an And or Or, flattening nested ones of the same kind.
fn join(all: Vec<Expr>, or: bool) -> Expr {
    let mut flat = Vec::new();
    for e in all {
        match (e, or) {
            (Expr::Or(inner), true) | (Expr::And(inner), false) => flat.extend(inner),
            (e, _) => flat.push(e),
        }
    }
    if flat.len() == 1 {
        return flat.remove(0);
    }
    if or { Expr::Or(flat) } else { Expr::And(flat) }
}

pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut toks = Vec::new();
    let mut sorts = Vec::new();
    for lexed in lex(text)? {
        match &lexed.tok {
            Tok::Word(word) if word.to_ascii_lowercase().starts_with("sort:") => {
                sorts.push(sort(word, lexed.column)?);
            }
            _ => toks.push(lexed),
        }
    }
    let mut parser = Parser {
        toks,
        at: 0,
        end_column: text.chars().count() + 1,
    };
    let expr = if parser.toks.is_empty() {
        None
    } else {
        let expr = parser.or()?;
        if parser.at < parser.toks.len() {
            return Err(error(parser.column(), "a ')' without its '('"));
        }
        Some(expr)
    };
    Ok(Query { expr, sort: sorts })
}

#[cfg(test)]
mod tests;
