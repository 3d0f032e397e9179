//! The store's reads: one statement each on a pooled connection, the records decoded from
//! their bodies.

use deadpool_postgres::Pool;
use tack_data::StoreError;
use tack_data::records::decode;
use tack_data::stored::Stored;
use tack_protocol::{Activity, ActivityKind, Event, EventRecord, Issue};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db_error;
use crate::tables::{n, u};

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

    /// The record an activity entry is about, as it is now.
    async fn record_for(&self, activity: &Activity) -> Result<EventRecord, StoreError> {
        use ActivityKind::*;
        Ok(match activity.kind {
            IssueCreated | IssueUpdated => match activity.issue {
                Some(id) => match self.issue(id).await? {
                    Some(issue) => EventRecord::Issue(issue),
                    None => EventRecord::IssueDeleted {
                        id,
                        key: activity.subject.clone(),
                    },
                },
                None => EventRecord::None,
            },
            IssueDeleted => EventRecord::IssueDeleted {
                id: activity.issue.unwrap_or(0),
                key: activity.subject.clone(),
            },
            CommentAdded | CommentEdited | CommentDeleted => {
                match (activity.comment, activity.issue) {
                    (Some(id), Some(issue)) => {
                        let comment: Option<tack_protocol::Comment> = self
                            .one(
                                "comments",
                                "SELECT body FROM comments WHERE id = $1",
                                &[&n(id)],
                            )
                            .await?;
                        match comment {
                            Some(comment) if activity.kind != CommentDeleted => {
                                EventRecord::Comment(comment)
                            }
                            _ => EventRecord::CommentDeleted { id, issue },
                        }
                    }
                    _ => EventRecord::None,
                }
            }
            ProjectCreated | ProjectUpdated | MemberChanged | StatesChanged => {
                match activity.project {
                    Some(id) => self
                        .one(
                            "projects",
                            "SELECT body FROM projects WHERE id = $1",
                            &[&n(id)],
                        )
                        .await?
                        .map_or(EventRecord::None, EventRecord::Project),
                    None => EventRecord::None,
                }
            }
            _ => EventRecord::None,
        })
    }

    pub async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let activity: Vec<Activity> = self
            .all(
                "activity",
                "SELECT body FROM activity WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&n(after), &(limit as i64)],
            )
            .await?;
        let mut events = Vec::with_capacity(activity.len());
        for activity in activity {
            let record = self.record_for(&activity).await?;
            events.push(Event {
                seq: activity.seq,
                activity,
                record,
            });
        }
        Ok(events)
    }
}
