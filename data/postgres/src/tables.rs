//! Where each record lives in the database: its table, its key columns, and the columns its
//! queries look it up by. Every table keeps the record itself in `body`, in the record form.

use std::sync::LazyLock;

use bytes::BytesMut;
use sha2::{Digest, Sha256};
use tack_data::plan::{Record, RecordKey};
use tokio_postgres::Row;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A value of a key or lookup column (or a body), as statements take it and rows give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Id(i64),
    MaybeId(Option<i64>),
    Int(i32),
    Text(String),
    Ids(Vec<i64>),
    Bytes(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Id(v) => v.to_sql(ty, out),
            Param::MaybeId(v) => v.to_sql(ty, out),
            Param::Int(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Ids(v) => v.to_sql(ty, out),
            Param::Bytes(v) => v.to_sql(ty, out),
        }
    }

    // Each statement's SQL names the column types these values are written for.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl Param {
    /// The value of column `at` of `row`, read as `like` is.
    pub fn read(like: &Param, row: &Row, at: usize) -> Result<Param, tokio_postgres::Error> {
        Ok(match like {
            Param::Id(_) => Param::Id(row.try_get(at)?),
            Param::MaybeId(_) => Param::MaybeId(row.try_get(at)?),
            Param::Int(_) => Param::Int(row.try_get(at)?),
            Param::Text(_) => Param::Text(row.try_get(at)?),
            Param::Ids(_) => Param::Ids(row.try_get(at)?),
            Param::Bytes(_) => Param::Bytes(row.try_get(at)?),
        })
    }
}

pub(crate) struct Table {
    pub name: &'static str,
    pub key: &'static [&'static str],
    pub columns: &'static [&'static str],
    /// What else a put sets when it replaces a row (beyond the record's columns).
    pub on_replace: &'static str,
}

macro_rules! tables {
    ($($id:ident = $name:literal [$($key:literal),+] [$($column:literal),*];)*) => {
        $(pub(crate) const $id: Table = Table {
            name: $name,
            key: &[$($key),+],
            columns: &[$($column),*],
            on_replace: on_replace($name),
        };)*
        /// Every table that holds records, in the order a backup writes them.
        pub(crate) const ALL: &[&Table] = &[$(&$id),*];
    };
}

tables! {
    USERS = "users" ["id"] ["handle"];
    KEYS = "keys" ["fingerprint"] ["owner"];
    PENDING_KEYS = "pending_keys" ["fingerprint", "owner"] [];
    TOKENS = "tokens" ["id"] [];
    INVITES = "invites" ["id"] [];
    PROJECTS = "projects" ["id"] ["key"];
    ISSUES = "issues" ["id"] ["project", "number", "state", "rank", "assignees", "label_hashes"];
    COMMENTS = "comments" ["id"] ["issue"];
    ACTIVITY = "activity" ["seq"] ["issue", "project"];
    TOTP = "totp" ["user_id"] [];
    NOTIFICATIONS = "notifications" ["user_id", "id"] [];
    WATCHERS = "watchers" ["issue", "user_id"] [];
    JOBS = "jobs" ["id"] ["due_at"];
    WEBHOOKS = "webhooks" ["project", "id"] [];
    DELIVERIES = "deliveries" ["hook", "id"] [];
    USER_SETTINGS = "user_settings" ["user_id"] [];
    DEDUPE = "dedupe" ["key"] [];
    VIEWS = "views" ["id"] [];
    IMPORTS = "imports" ["project", "source"] [];
}

/// Writing a job (its outcome, a retry, a postponement) ends the lease a node took it under.
const fn on_replace(table: &str) -> &'static str {
    match table.as_bytes() {
        b"jobs" => ", lease_until = NULL, lease_node = NULL",
        _ => "",
    }
}

/// The statements of one table, written once.
pub(crate) struct Statements {
    pub get: String,
    pub put: String,
    pub delete: String,
    /// Every row's key columns, lookup columns and body, in key order.
    pub all: String,
}

impl Table {
    fn statements(&self) -> Statements {
        let key_match = self
            .key
            .iter()
            .enumerate()
            .map(|(n, column)| format!("{column} = ${}", n + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        let columns: Vec<&str> = self
            .key
            .iter()
            .chain(self.columns)
            .copied()
            .chain(["body"])
            .collect();
        let placeholders = (1..=columns.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let updates = self
            .columns
            .iter()
            .chain(&["body"])
            .map(|column| format!("{column} = EXCLUDED.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let key_list = self.key.join(", ");
        Statements {
            get: format!("SELECT body FROM {} WHERE {key_match}", self.name),
            put: format!(
                "INSERT INTO {} ({}) VALUES ({placeholders}) ON CONFLICT ({key_list}) DO UPDATE SET {updates}{}",
                self.name,
                columns.join(", "),
                self.on_replace
            ),
            delete: format!("DELETE FROM {} WHERE {key_match}", self.name),
            all: format!(
                "SELECT {} FROM {} ORDER BY {key_list}",
                columns.join(", "),
                self.name
            ),
        }
    }

    pub(crate) fn sql(&self) -> &'static Statements {
        static STATEMENTS: LazyLock<Vec<Statements>> =
            LazyLock::new(|| ALL.iter().map(|table| table.statements()).collect());
        let at = ALL
            .iter()
            .position(|table| table.name == self.name)
            .unwrap_or_default();
        &STATEMENTS[at]
    }
}

/// Ids and sequence numbers are u64 in tack and bigint in PostgreSQL. None stored comes near
/// 2^63; a larger one asked for (a cursor a client sent) is beyond every stored one, as it is.
pub(crate) fn n(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count of rows asked for, as LIMIT takes it.
pub(crate) fn limit(rows: usize) -> i64 {
    i64::try_from(rows).unwrap_or(i64::MAX)
}

pub(crate) fn u(value: i64) -> u64 {
    value as u64
}

/// How a label is looked up without its text in an index: the first 8 bytes of its SHA-256.
pub(crate) fn label_hash(label: &str) -> i64 {
    let digest = Sha256::digest(label.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

pub(crate) fn table(key: &RecordKey) -> &'static Table {
    match key {
        RecordKey::User(_) => &USERS,
        RecordKey::Key(_) => &KEYS,
        RecordKey::PendingKey { .. } => &PENDING_KEYS,
        RecordKey::Token(_) => &TOKENS,
        RecordKey::Invite(_) => &INVITES,
        RecordKey::Project(_) => &PROJECTS,
        RecordKey::Issue(_) => &ISSUES,
        RecordKey::Comment(_) => &COMMENTS,
        RecordKey::Activity(_) => &ACTIVITY,
        RecordKey::Totp(_) => &TOTP,
        RecordKey::Notification { .. } => &NOTIFICATIONS,
        RecordKey::Watcher { .. } => &WATCHERS,
        RecordKey::Job(_) => &JOBS,
        RecordKey::Webhook { .. } => &WEBHOOKS,
        RecordKey::Delivery { .. } => &DELIVERIES,
        RecordKey::Settings(_) => &USER_SETTINGS,
        RecordKey::Dedupe(_) => &DEDUPE,
        RecordKey::View(_) => &VIEWS,
        RecordKey::Import { .. } => &IMPORTS,
    }
}

/// The values of a key's columns, in the table's order.
pub(crate) fn key_params(key: &RecordKey) -> Vec<Param> {
    use Param::{Id, Text};
    match key {
        RecordKey::User(id)
        | RecordKey::Project(id)
        | RecordKey::Issue(id)
        | RecordKey::Comment(id)
        | RecordKey::Activity(id)
        | RecordKey::Totp(id)
        | RecordKey::Job(id)
        | RecordKey::Settings(id)
        | RecordKey::View(id) => vec![Id(n(*id))],
        RecordKey::Key(text)
        | RecordKey::Token(text)
        | RecordKey::Invite(text)
        | RecordKey::Dedupe(text) => vec![Text(text.clone())],
        RecordKey::PendingKey { fingerprint, owner } => {
            vec![Text(fingerprint.clone()), Id(n(*owner))]
        }
        RecordKey::Notification { user: a, id: c }
        | RecordKey::Watcher { issue: a, user: c }
        | RecordKey::Webhook { project: a, id: c }
        | RecordKey::Delivery { hook: a, id: c } => vec![Id(n(*a)), Id(n(*c))],
        RecordKey::Import { project, source } => vec![Id(n(*project)), Text(source.clone())],
    }
}

/// The values of a record's lookup columns, in the table's order.
pub(crate) fn column_params(record: &Record) -> Vec<Param> {
    use Param::{Id, Ids, Int, MaybeId, Text};
    match record {
        Record::User(user) => vec![Text(user.handle.clone())],
        Record::Key(key) => vec![Id(n(key.owner))],
        Record::Project(project) => vec![Text(project.key.clone())],
        Record::Issue(issue) => vec![
            Id(n(issue.project)),
            Id(n(issue.number)),
            Int(issue.state as i32),
            Text(issue.rank.clone()),
            Ids(issue.assignees.iter().map(|u| n(*u)).collect()),
            Ids(issue.labels.iter().map(|l| label_hash(l)).collect()),
        ],
        Record::Comment(comment) => vec![Id(n(comment.issue))],
        Record::Activity(activity) => vec![
            MaybeId(activity.issue.map(n)),
            MaybeId(activity.project.map(n)),
        ],
        Record::Job(job) => vec![MaybeId(
            (job.state == tack_protocol::JobState::Queued).then_some(job.run_at),
        )],
        _ => Vec::new(),
    }
}

/// Everything a record's row holds: key columns, lookup columns, body.
pub(crate) fn row_params(record: &Record) -> Vec<Param> {
    let mut params = key_params(&record.key());
    params.extend(column_params(record));
    params.push(Param::Bytes(tack_data::record_form::value_bytes(record)));
    params
}

/// The record key of a row read by [`Statements::all`].
pub(crate) fn key_of_row(table: &Table, row: &Row) -> Result<RecordKey, tokio_postgres::Error> {
    let id = |at: usize| row.try_get::<_, i64>(at).map(u);
    let text = |at: usize| row.try_get::<_, String>(at);
    Ok(match table.name {
        "users" => RecordKey::User(id(0)?),
        "keys" => RecordKey::Key(text(0)?),
        "pending_keys" => RecordKey::PendingKey {
            fingerprint: text(0)?,
            owner: id(1)?,
        },
        "tokens" => RecordKey::Token(text(0)?),
        "invites" => RecordKey::Invite(text(0)?),
        "projects" => RecordKey::Project(id(0)?),
        "issues" => RecordKey::Issue(id(0)?),
        "comments" => RecordKey::Comment(id(0)?),
        "activity" => RecordKey::Activity(id(0)?),
        "totp" => RecordKey::Totp(id(0)?),
        "notifications" => RecordKey::Notification {
            user: id(0)?,
            id: id(1)?,
        },
        "watchers" => RecordKey::Watcher {
            issue: id(0)?,
            user: id(1)?,
        },
        "jobs" => RecordKey::Job(id(0)?),
        "webhooks" => RecordKey::Webhook {
            project: id(0)?,
            id: id(1)?,
        },
        "deliveries" => RecordKey::Delivery {
            hook: id(0)?,
            id: id(1)?,
        },
        "user_settings" => RecordKey::Settings(id(0)?),
        "dedupe" => RecordKey::Dedupe(text(0)?),
        "views" => RecordKey::View(id(0)?),
        _ => RecordKey::Import {
            project: id(0)?,
            source: text(1)?,
        },
    })
}

/// Parameters as a query takes them.
pub(crate) fn borrowed(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}
