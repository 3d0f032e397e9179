//! One query language everywhere: the TUI's `/` bar, saved views, `tack ctl issue list --query`,
//! and subscription and webhook filters.
//!
//! ```text
//! query  := [expr] {sort}
//! expr   := and {"OR" and}                 ; a space means AND
//! unary  := ("-" | "NOT") unary | "(" expr ")" | term
//! term   := key ":" vals | key ":" (">"|">="|"<"|"<=") val | key ":" val ".." val
//!         | "no:" key | "has:" key | "is:" flag | text
//! vals   := val {"," val}                  ; a comma means OR within one key
//! val    := word | "quoted" | @me | @today[±Nd] | Nd | Nw
//! sort   := "sort:" key ["-asc" | "-desc"]
//! ```
//!
//! `parse` reads text into a [`Query`]; its `Display` prints the canonical text, which parses
//! back to the same query. `eval` decides whether an issue matches.

mod eval;
mod parse;

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::model::StateCategory;

pub use eval::{Facts, day_of, matches, order, sort_issues};
pub use parse::{ParseError, distance as edit_distance, parse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Key {
    Project,
    Status,
    Assignee,
    Author,
    Label,
    Priority,
    Due,
    Created,
    Updated,
    Closed,
    Mentions,
    Commenter,
    Watcher,
    Parent,
    BlockedBy,
    Estimate,
}

pub const KEYS: [(&str, Key); 16] = [
    ("project", Key::Project),
    ("status", Key::Status),
    ("assignee", Key::Assignee),
    ("author", Key::Author),
    ("label", Key::Label),
    ("priority", Key::Priority),
    ("due", Key::Due),
    ("created", Key::Created),
    ("updated", Key::Updated),
    ("closed", Key::Closed),
    ("mentions", Key::Mentions),
    ("commenter", Key::Commenter),
    ("watcher", Key::Watcher),
    ("parent", Key::Parent),
    ("blocked-by", Key::BlockedBy),
    ("estimate", Key::Estimate),
];

impl Key {
    pub fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(name, _)| name)
    }

    pub fn from_name(name: &str) -> Option<Key> {
        let name = name.to_ascii_lowercase();
        KEYS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    /// Keys whose values are dates or times.
    pub fn is_date(self) -> bool {
        matches!(self, Key::Due | Key::Created | Key::Updated | Key::Closed)
    }

    /// Keys whose values have an order (`>`, `<`, `..`).
    pub fn is_ordered(self) -> bool {
        self.is_date() || matches!(self, Key::Priority | Key::Estimate)
    }

    /// Keys only the server can answer (they need comments or watchers).
    pub fn needs_server(self) -> bool {
        matches!(self, Key::Mentions | Key::Commenter | Key::Watcher)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Value {
    /// A bare word: a name, a handle, a number, a date `YYYY-MM-DD`.
    Word(String),
    /// A quoted value, spaces and all.
    Quoted(String),
    /// The person asking.
    Me,
    /// Today, shifted by this many days.
    Today(i64),
    /// This many days ago (`7d`; `2w` is 14).
    Ago(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Flag {
    Open,
    Closed,
    Blocked,
    Overdue,
    Unassigned,
    Category(StateCategory),
}

pub const FLAGS: [(&str, Flag); 10] = [
    ("open", Flag::Open),
    ("closed", Flag::Closed),
    ("blocked", Flag::Blocked),
    ("overdue", Flag::Overdue),
    ("unassigned", Flag::Unassigned),
    ("backlog", Flag::Category(StateCategory::Backlog)),
    ("unstarted", Flag::Category(StateCategory::Unstarted)),
    ("started", Flag::Category(StateCategory::Started)),
    ("done", Flag::Category(StateCategory::Done)),
    ("canceled", Flag::Category(StateCategory::Canceled)),
];

impl Flag {
    pub fn name(self) -> &'static str {
        FLAGS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(name, _)| name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Term {
    /// `key:a,b` — any of the values.
    Match {
        key: Key,
        values: Vec<Value>,
    },
    /// `key:>=v`.
    Compare {
        key: Key,
        cmp: Cmp,
        value: Value,
    },
    /// `key:a..b`, both ends included.
    Range {
        key: Key,
        from: Value,
        to: Value,
    },
    /// `no:key` — the field is empty.
    No(Key),
    /// `has:key` — the field is set.
    Has(Key),
    Is(Flag),
    /// Words to find in titles, descriptions and comments.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Expr {
    /// Two or more, none of them an `And`.
    And(Vec<Expr>),
    /// Two or more, none of them an `Or`.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Sort {
    pub key: Key,
    pub desc: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Query {
    pub expr: Option<Expr>,
    pub sort: Vec<Sort>,
}

impl Query {
    /// Every term, wherever it sits.
    pub fn terms(&self) -> Vec<&Term> {
        fn walk<'a>(expr: &'a Expr, out: &mut Vec<&'a Term>) {
            match expr {
                Expr::And(all) | Expr::Or(all) => all.iter().for_each(|e| walk(e, out)),
                Expr::Not(inner) => walk(inner, out),
                Expr::Term(term) => out.push(term),
            }
        }
        let mut out = Vec::new();
        if let Some(expr) = &self.expr {
            walk(expr, &mut out);
        }
        out
    }

    pub fn needs_server(&self) -> bool {
        self.terms().iter().any(|t| match t {
            Term::Match { key, .. }
            | Term::Compare { key, .. }
            | Term::Range { key, .. }
            | Term::No(key)
            | Term::Has(key) => key.needs_server(),
            Term::Is(_) | Term::Text(_) => false,
        })
    }

    /// The free-text words of the query, for full-text search.
    pub fn text(&self) -> Vec<&str> {
        self.terms()
            .into_iter()
            .filter_map(|t| match t {
                Term::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn is_plain_word(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.contains(':')
        && !text.chars().any(|c| {
            c.is_whitespace() || matches!(c, '(' | ')' | '"' | ',' | '\\') || c.is_control()
        })
        && !text.contains("..")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Word(word) => f.write_str(word),
            Value::Quoted(text) => {
                f.write_str("\"")?;
                for c in text.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Value::Me => f.write_str("@me"),
            Value::Today(0) => f.write_str("@today"),
            Value::Today(days) => write!(f, "@today{days:+}d"),
            Value::Ago(days) => write!(f, "{days}d"),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Match { key, values } => {
                write!(f, "{}:", key.name())?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{value}")?;
                }
                Ok(())
            }
            Term::Compare { key, cmp, value } => {
                write!(f, "{}:{}{value}", key.name(), cmp.symbol())
            }
            Term::Range { key, from, to } => write!(f, "{}:{from}..{to}", key.name()),
            Term::No(key) => write!(f, "no:{}", key.name()),
            Term::Has(key) => write!(f, "has:{}", key.name()),
            Term::Is(flag) => write!(f, "is:{}", flag.name()),
            Term::Text(text) if is_plain_word(text) && !parse::is_reserved(text) => {
                f.write_str(text)
            }
            Term::Text(text) => write!(f, "{}", Value::Quoted(text.clone())),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Term(term) => write!(f, "{term}"),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Term(_) | Expr::Not(_) => write!(f, "-{inner}"),
                _ => write!(f, "-({inner})"),
            },
            Expr::And(all) => {
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    match e {
                        Expr::Or(_) => write!(f, "({e})")?,
                        _ => write!(f, "{e}")?,
                    }
                }
                Ok(())
            }
            Expr::Or(all) => {
                for (i, e) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(expr) = &self.expr {
            // A top-level OR followed by sorts still reads right: sorts are not terms.
            write!(f, "{expr}")?;
            first = false;
        }
        for sort in &self.sort {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(
                f,
                "sort:{}-{}",
                sort.key.name(),
                if sort.desc { "desc" } else { "asc" }
            )?;
        }
        Ok(())
    }
}
