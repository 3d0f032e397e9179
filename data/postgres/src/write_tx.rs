//! The write planner's transaction on PostgreSQL. Reads go to the database inside the writer's
//! open transaction; changes are staged in memory — those of writes already kept in the batch,
//! and apart from them those of the write being applied, so a refused write leaves nothing —
//! and read back over the database's answers. The batch's changes are written just before
//! COMMIT ([`Staged::into_changes`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use tack_data::WriteError;
use tack_data::plan::{Counter, Record, RecordKey, Scan, Unique, WriteTx};
use tack_data::record_form::{meta, read_record};
use tokio_postgres::Row;

use crate::connection::Connection;
use crate::tables::{self, Param, n, u};

type Change = Option<Record>;

/// Id and sequence counters, read under lock at the start of each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counters(pub [u64; meta::COUNTERS.len()]);

impl Counters {
    fn slot(&mut self, counter: Counter) -> &mut u64 {
        let at = meta::COUNTERS
            .iter()
            .position(|c| *c == counter)
            .unwrap_or_default();
        &mut self.0[at]
    }
}

/// What the writes of one batch changed so far, and what they read of the database: nobody
/// else writes records while the batch holds the counter rows, so a read stays true for it.
#[derive(Default)]
pub(crate) struct Staged {
    batch: BTreeMap<RecordKey, Change>,
    pending: RefCell<BTreeMap<RecordKey, Change>>,
    /// Records read from the database, by key.
    read: RefCell<BTreeMap<RecordKey, Change>>,
    /// The last card of each board column in the database: its id and rank.
    last_cards: RefCell<HashMap<(u64, u32), Option<Card>>>,
}

/// A card on a board: the issue's id and rank.
type Card = (u64, String);

impl Staged {
    pub fn keep_write(&mut self) {
        let pending = std::mem::take(self.pending.get_mut());
        self.batch.extend(pending);
    }

    pub fn drop_write(&mut self) {
        self.pending.get_mut().clear();
    }

    pub fn into_changes(self) -> BTreeMap<RecordKey, Change> {
        self.batch
    }

    fn staged(&self, key: &RecordKey) -> Option<Change> {
        if let Some(change) = self.pending.borrow().get(key) {
            return Some(change.clone());
        }
        self.batch.get(key).cloned()
    }

    /// Everything staged in the collection that `first` (its smallest key) is in.
    fn staged_in(&self, first: &RecordKey) -> BTreeMap<RecordKey, Change> {
        let table = tables::table(first).name;
        let mut out = BTreeMap::new();
        for staged in [&self.batch, &*self.pending.borrow()] {
            for (key, change) in staged
                .range(first.clone()..)
                .take_while(|(key, _)| tables::table(key).name == table)
            {
                out.insert(key.clone(), change.clone());
            }
        }
        out
    }
}

/// One write's view of the batch: the database as of the open transaction, and what is staged.
pub(crate) struct PgWriteTx<'t> {
    pub db: &'t Connection<'t>,
    pub staged: &'t mut Staged,
    pub counters: &'t mut Counters,
}

fn id_column(rows: &[Row]) -> Result<Vec<u64>, WriteError> {
    rows.iter()
        .map(|row| row.try_get::<_, i64>(0).map(u))
        .collect::<Result<_, _>>()
        .map_err(|err| crate::db_error(&err).into())
}

impl PgWriteTx<'_> {
    /// The last card of a board column in the database, read once per batch.
    fn last_card(&self, project: u64, state: u32) -> Result<Option<Card>, WriteError> {
        if let Some(known) = self.staged.last_cards.borrow().get(&(project, state)) {
            return Ok(known.clone());
        }
        let rows = self.db.query(
            "SELECT id, rank FROM issues WHERE project = $1 AND state = $2 \
             ORDER BY rank DESC, id DESC LIMIT 1",
            &[Param::Id(n(project)), Param::Int(state as i32)],
        )?;
        let card = match rows.first() {
            Some(row) => Some((
                u(row.try_get(0).map_err(|e| crate::db_error(&e))?),
                row.try_get(1).map_err(|e| crate::db_error(&e))?,
            )),
            None => None,
        };
        self.staged
            .last_cards
            .borrow_mut()
            .insert((project, state), card.clone());
        Ok(card)
    }

    /// `rows` (the database's keys for a query) with what is staged in the same collection laid
    /// over them: a staged record counts when `wanted` says so, a staged deletion never.
    fn merge(
        &self,
        found: Vec<RecordKey>,
        first: RecordKey,
        wanted: impl Fn(&Record) -> bool,
    ) -> Vec<RecordKey> {
        let mut keys: BTreeSet<RecordKey> = found.into_iter().collect();
        for (key, change) in self.staged.staged_in(&first) {
            match change {
                Some(record) if wanted(&record) => keys.insert(key),
                _ => keys.remove(&key),
            };
        }
        keys.into_iter().collect()
    }

    fn ids(&self, sql: &str, values: Vec<Param>) -> Result<Vec<u64>, WriteError> {
        id_column(&self.db.query(sql, &values)?)
    }
}

impl WriteTx for PgWriteTx<'_> {
    fn get(&self, key: &RecordKey) -> Result<Option<Record>, WriteError> {
        if let Some(change) = self.staged.staged(key) {
            return Ok(change);
        }
        if let Some(read) = self.staged.read.borrow().get(key) {
            return Ok(read.clone());
        }
        let table = tables::table(key);
        let rows = self.db.query(&table.sql().get, &tables::key_params(key))?;
        let record = match rows.first() {
            None => None,
            Some(row) => {
                let body: Vec<u8> = row.try_get(0).map_err(|e| crate::db_error(&e))?;
                Some(read_record(key, &body)?)
            }
        };
        self.staged
            .read
            .borrow_mut()
            .insert(key.clone(), record.clone());
        Ok(record)
    }

    fn find(&self, unique: Unique<'_>) -> Result<Option<u64>, WriteError> {
        let (sql, values, first, key_of): (_, Vec<Param>, _, fn(u64) -> RecordKey) = match unique {
            Unique::UserHandle(handle) => (
                "SELECT id FROM users WHERE handle = $1",
                vec![Param::Text(handle.to_owned())],
                RecordKey::User(0),
                RecordKey::User,
            ),
            Unique::ProjectKey(key) => (
                "SELECT id FROM projects WHERE key = $1",
                vec![Param::Text(key.to_owned())],
                RecordKey::Project(0),
                RecordKey::Project,
            ),
            Unique::IssueNumber { project, number } => (
                "SELECT id FROM issues WHERE project = $1 AND number = $2",
                vec![Param::Id(n(project)), Param::Id(n(number))],
                RecordKey::Issue(0),
                RecordKey::Issue,
            ),
        };
        let found = self.ids(sql, values)?.into_iter().map(key_of).collect();
        let matches = |record: &Record| match (&unique, record) {
            (Unique::UserHandle(handle), Record::User(user)) => user.handle == *handle,
            (Unique::ProjectKey(key), Record::Project(project)) => project.key == *key,
            (Unique::IssueNumber { project, number }, Record::Issue(issue)) => {
                issue.project == *project && issue.number == *number
            }
            _ => false,
        };
        Ok(self
            .merge(found, first, matches)
            .first()
            .and_then(|key| match key {
                RecordKey::User(id) | RecordKey::Project(id) | RecordKey::Issue(id) => Some(*id),
                _ => None,
            }))
    }

    fn scan(&self, scan: Scan<'_>) -> Result<Vec<RecordKey>, WriteError> {
        let by_id = |sql: &str, value: Option<u64>, key: &dyn Fn(u64) -> RecordKey| {
            let values: Vec<Param> = value.map(|v| Param::Id(n(v))).into_iter().collect();
            Ok::<_, WriteError>(
                self.ids(sql, values)?
                    .into_iter()
                    .map(key)
                    .collect::<Vec<_>>(),
            )
        };
        Ok(match scan {
            Scan::KeysOf(user) => {
                let rows = self.db.query(
                    "SELECT fingerprint FROM keys WHERE owner = $1",
                    &[Param::Id(n(user))],
                )?;
                let found = rows
                    .iter()
                    .map(|row| row.try_get::<_, String>(0).map(RecordKey::Key))
                    .collect::<Result<_, _>>()
                    .map_err(|e| crate::db_error(&e))?;
                self.merge(
                    found,
                    RecordKey::Key(String::new()),
                    |r| matches!(r, Record::Key(key) if key.owner == user),
                )
            }
            Scan::ClaimsOn(fingerprint) => {
                let rows = self.db.query(
                    "SELECT owner FROM pending_keys WHERE fingerprint = $1",
                    &[Param::Text(fingerprint.to_owned())],
                )?;
                let key = |owner| RecordKey::PendingKey {
                    fingerprint: fingerprint.to_owned(),
                    owner,
                };
                let found = id_column(&rows)?.into_iter().map(key).collect();
                self.merge(
                    found,
                    key(0),
                    |r| matches!(r, Record::PendingKey(p) if p.key.fingerprint == fingerprint),
                )
            }
            Scan::AssignedTo(user) => {
                let found = by_id(
                    "SELECT id FROM issues WHERE assignees @> ARRAY[$1::bigint]",
                    Some(user),
                    &RecordKey::Issue,
                )?;
                self.merge(
                    found,
                    RecordKey::Issue(0),
                    |r| matches!(r, Record::Issue(issue) if issue.assignees.contains(&user)),
                )
            }
            Scan::Issues => {
                let found = by_id("SELECT id FROM issues", None, &RecordKey::Issue)?;
                self.merge(found, RecordKey::Issue(0), |_| true)
            }
            Scan::CommentsOf(issue) => {
                let found = by_id(
                    "SELECT id FROM comments WHERE issue = $1",
                    Some(issue),
                    &RecordKey::Comment,
                )?;
                self.merge(
                    found,
                    RecordKey::Comment(0),
                    |r| matches!(r, Record::Comment(c) if c.issue == issue),
                )
            }
            Scan::Comments => {
                let found = by_id("SELECT id FROM comments", None, &RecordKey::Comment)?;
                self.merge(found, RecordKey::Comment(0), |_| true)
            }
            Scan::NotificationsOf(user) => {
                let key = move |id| RecordKey::Notification { user, id };
                let found = by_id(
                    "SELECT id FROM notifications WHERE user_id = $1",
                    Some(user),
                    &key,
                )?;
                self.merge(
                    found,
                    key(0),
                    |r| matches!(r, Record::Notification(x) if x.user == user),
                )
            }
            Scan::WebhooksOf(project) => {
                let key = move |id| RecordKey::Webhook { project, id };
                let found = by_id(
                    "SELECT id FROM webhooks WHERE project = $1",
                    Some(project),
                    &key,
                )?;
                self.merge(
                    found,
                    key(0),
                    |r| matches!(r, Record::Webhook(h) if h.hook.project == project),
                )
            }
            Scan::DeliveriesOf(hook) => {
                let key = move |id| RecordKey::Delivery { hook, id };
                let found = by_id(
                    "SELECT id FROM deliveries WHERE hook = $1",
                    Some(hook),
                    &key,
                )?;
                self.merge(
                    found,
                    key(0),
                    |r| matches!(r, Record::Delivery(d) if d.hook == hook),
                )
            }
        })
    }

    fn last_rank(&self, project: u64, state: u32) -> Result<Option<String>, WriteError> {
        let staged = self.staged.staged_in(&RecordKey::Issue(0));
        let last_card = self.last_card(project, state)?;
        let mut best = match last_card {
            // The database's last card was changed in this batch: find the last one that was not.
            Some((id, _)) if staged.contains_key(&RecordKey::Issue(id)) => {
                let staged_ids: Vec<i64> = staged
                    .keys()
                    .filter_map(|key| match key {
                        RecordKey::Issue(id) => Some(n(*id)),
                        _ => None,
                    })
                    .collect();
                let rows = self.db.query(
                    "SELECT rank FROM issues WHERE project = $1 AND state = $2 \
                     AND NOT (id = ANY($3)) ORDER BY rank DESC LIMIT 1",
                    &[
                        Param::Id(n(project)),
                        Param::Int(state as i32),
                        Param::Ids(staged_ids),
                    ],
                )?;
                match rows.first() {
                    Some(row) => Some(row.try_get(0).map_err(|e| crate::db_error(&e))?),
                    None => None,
                }
            }
            other => other.map(|(_, rank)| rank),
        };
        for change in staged.values() {
            if let Some(Record::Issue(issue)) = change
                && issue.project == project
                && issue.state == state
                && best.as_ref().is_none_or(|b| issue.rank > *b)
            {
                best = Some(issue.rank.clone());
            }
        }
        Ok(best)
    }

    fn put(&mut self, record: Record) -> Result<(), WriteError> {
        self.staged
            .pending
            .get_mut()
            .insert(record.key(), Some(record));
        Ok(())
    }

    fn insert(&mut self, record: Record) -> Result<(), WriteError> {
        self.put(record)
    }

    fn delete(&mut self, key: &RecordKey) -> Result<(), WriteError> {
        self.staged.pending.get_mut().insert(key.clone(), None);
        Ok(())
    }

    fn next_id(&mut self, counter: Counter) -> u64 {
        meta::take(counter, self.counters.slot(counter))
    }
}
