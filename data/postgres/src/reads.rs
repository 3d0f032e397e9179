//! The store's reads: one statement each on a pooled connection, the records decoded from
//! their bodies.

use deadpool_postgres::Pool;
use std::collections::HashMap;
use tack_data::StoreError;
use tack_data::records::decode;
use tack_data::stored::Stored;

use tack_data::event_record::{Subject, event_record, subject_of};
use tack_protocol::{Activity, Comment, Event, Issue, Project};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db_error;
use crate::tables::{self, n, u};

pub(crate) struct Reads {
    pub pool: Pool,
}

pub(crate) type P<'a> = &'a (dyn ToSql + Sync);

impl Reads {
    pub async fn rows(&self, sql: &str, params: &[P<'_>]) -> Result<Vec<Row>, StoreError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(crate::unreachable(&e.to_string())))?;
        let statement = client.prepare_cached(sql).await.map_err(|e| db_error(&e))?;
        client
            .query(&statement, params)
            .await
            .map_err(|e| db_error(&e))
    }

    /// The records in the first column (`body`) of what `sql` returns.
    pub async fn all<V: Stored>(
        &self,
        collection: &'static str,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<Vec<V>, StoreError> {
        self.rows(sql, params)
            .await?
            .iter()
            .map(|row| {
                let body: &[u8] = row.try_get(0).map_err(|e| db_error(&e))?;
                decode(collection, body)
            })
            .collect()
    }

    pub async fn one<V: Stored>(
        &self,
        collection: &'static str,
        sql: &str,
        params: &[P<'_>],
    ) -> Result<Option<V>, StoreError> {
        Ok(self.all(collection, sql, params).await?.into_iter().next())
    }

    /// The first column of the first row of a statement without parameters.
    pub async fn scalar<T>(&self, sql: &str) -> Result<Option<T>, StoreError>
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        match self.rows(sql, &[]).await?.first() {
            Some(row) => row.try_get(0).map(Some).map_err(|e| db_error(&e)),
            None => Ok(None),
        }
    }

    pub async fn ids(&self, sql: &str, params: &[P<'_>]) -> Result<Vec<u64>, StoreError> {
        self.rows(sql, params)
            .await?
            .iter()
            .map(|row| row.try_get::<_, i64>(0).map(u).map_err(|e| db_error(&e)))
            .collect()
    }

    pub async fn issue(&self, id: u64) -> Result<Option<Issue>, StoreError> {
        self.one("issues", "SELECT body FROM issues WHERE id = $1", &[&n(id)])
            .await
    }

    pub async fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .ids("SELECT value FROM tack_meta WHERE key = 'last_seq'", &[])
            .await?
            .first()
            .copied()
            .unwrap_or(0))
    }

    /// Records of `collection` with the given ids, by id.
    async fn by_id<V: Stored>(
        &self,
        collection: &'static str,
        sql: &str,
        ids: Vec<i64>,
        id_of: impl Fn(&V) -> u64,
    ) -> Result<HashMap<u64, V>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Vec<V> = self.all(collection, sql, &[&ids]).await?;
        Ok(found.into_iter().map(|v| (id_of(&v), v)).collect())
    }

    /// Events after `after`, each with the record it is about as it is now: the records of a
    /// whole page are read in three statements, not one per event.
    pub async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let activity: Vec<Activity> = self
            .all(
                "activity",
                "SELECT body FROM activity WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&n(after), &tables::limit(limit)],
            )
            .await?;
        let subjects: Vec<Subject> = activity.iter().map(subject_of).collect();
        let wanted = |pick: fn(&Subject) -> Option<u64>| -> Vec<i64> {
            subjects.iter().filter_map(pick).map(n).collect()
        };
        let issues: HashMap<u64, Issue> = self
            .by_id(
                "issues",
                "SELECT body FROM issues WHERE id = ANY($1)",
                wanted(|s| s.issue),
                |i: &Issue| i.id,
            )
            .await?;
        let comments: HashMap<u64, Comment> = self
            .by_id(
                "comments",
                "SELECT body FROM comments WHERE id = ANY($1)",
                wanted(|s| s.comment),
                |c: &Comment| c.id,
            )
            .await?;
        let projects: HashMap<u64, Project> = self
            .by_id(
                "projects",
                "SELECT body FROM projects WHERE id = ANY($1)",
                wanted(|s| s.project),
                |p: &Project| p.id,
            )
            .await?;
        Ok(activity
            .into_iter()
            .zip(subjects)
            .map(|(activity, subject)| {
                let record = event_record(
                    &activity,
                    subject.issue.and_then(|id| issues.get(&id).cloned()),
                    subject.comment.and_then(|id| comments.get(&id).cloned()),
                    subject.project.and_then(|id| projects.get(&id).cloned()),
                );
                Event {
                    seq: activity.seq,
                    activity,
                    record,
                }
            })
            .collect())
    }
}
