//! Places for live SSH sessions, counted over every node: a person's session cap holds on the
//! whole cluster, and the places of a node that stops renewing them lapse.

use std::time::Duration;

use tack_data::StoreError;
use tack_protocol::UserId;

use crate::db_error;
use crate::reads::Reads;
use crate::tables::n;

/// Any number, the same on every node: with a person's id, the lock their places are counted under.
const PLACES_LOCK: i32 = 0x7461_6370;

impl Reads {
    /// Takes a place for `session` of `user` on `node` if fewer than `limit` are held: the
    /// count and the insert run under a lock on that person, so two nodes cannot both take
    /// the last place.
    pub async fn claim_session(
        &self,
        node: &str,
        session: u64,
        user: UserId,
        limit: usize,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(crate::unreachable(&e.to_string())))?;
        let tx = client.transaction().await.map_err(|e| db_error(&e))?;
        let (user, session) = (n(user), n(session));
        // The lock's second half is the low bits of the id: people who share them only wait.
        let slot = (user & 0x7fff_ffff) as i32;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&PLACES_LOCK, &slot],
        )
        .await
        .map_err(|e| db_error(&e))?;
        tx.execute(
            "DELETE FROM tack_session_places WHERE user_id = $1 AND held_until < now()",
            &[&user],
        )
        .await
        .map_err(|e| db_error(&e))?;
        let held: i64 = tx
            .query_one(
                "SELECT count(*) FROM tack_session_places WHERE user_id = $1",
                &[&user],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| db_error(&e))?;
        if held >= n(limit as u64) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO tack_session_places (node, session, user_id, held_until)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (node, session) DO UPDATE SET user_id = $3, held_until = EXCLUDED.held_until",
            &[&node, &session, &user, &lease.as_secs_f64()],
        )
        .await
        .map_err(|e| db_error(&e))?;
        tx.commit().await.map_err(|e| db_error(&e))?;
        Ok(true)
    }

    pub async fn release_session(&self, node: &str, session: u64) -> Result<(), StoreError> {
        self.rows(
            "DELETE FROM tack_session_places WHERE node = $1 AND session = $2",
            &[&node, &n(session)],
        )
        .await
        .map(drop)
    }

    /// Holds the places of `live` for `lease` more, and gives up any other place of `node` (one
    /// whose release did not reach the database).
    pub async fn renew_sessions(
        &self,
        node: &str,
        live: &[u64],
        lease: Duration,
    ) -> Result<(), StoreError> {
        let live: Vec<i64> = live.iter().map(|&id| n(id)).collect();
        self.rows(
            "UPDATE tack_session_places SET held_until = now() + make_interval(secs => $3)
             WHERE node = $1 AND session = ANY($2)",
            &[&node, &live, &lease.as_secs_f64()],
        )
        .await?;
        self.rows(
            "DELETE FROM tack_session_places WHERE node = $1 AND NOT (session = ANY($2))",
            &[&node, &live],
        )
        .await
        .map(drop)
    }
}
