//! What the nodes of a cluster share besides the records: the job queue's claims, and the SSH
//! host key they all present.

use std::time::Duration;

use tack_data::StoreError;
use tack_protocol::{Job, Timestamp};

use crate::db_error;
use crate::reads::Reads;
use crate::tables;

impl Reads {
    /// Takes due jobs that nobody holds (or whose holder's lease is over), and those `node`
    /// holds already, until `now + lease`. Rows another node is taking at this moment are
    /// skipped, not waited for. Earliest first.
    pub async fn claim_due_jobs(
        &self,
        now: Timestamp,
        limit: usize,
        lease: Duration,
        node: &str,
    ) -> Result<Vec<Job>, StoreError> {
        let until = now.saturating_add(lease.as_millis() as i64);
        let mut jobs: Vec<Job> = self
            .all(
                "jobs",
                "UPDATE jobs SET lease_until = $2, lease_node = $3 WHERE id IN (
                    SELECT id FROM jobs
                    WHERE due_at <= $1
                      AND (lease_until IS NULL OR lease_until < $1 OR lease_node = $3)
                    ORDER BY due_at, id LIMIT $4
                    FOR UPDATE SKIP LOCKED
                ) RETURNING body",
                &[&now, &until, &node, &tables::limit(limit)],
            )
            .await?;
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    /// The host key kept for the cluster: the first node's `candidate` wins, every later node
    /// reads it back.
    pub async fn shared_host_key(&self, candidate: &str) -> Result<Option<String>, StoreError> {
        self.rows(
            "INSERT INTO tack_host_key (id, private_key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&candidate],
        )
        .await?;
        let rows = self
            .rows("SELECT private_key FROM tack_host_key WHERE id = 1", &[])
            .await?;
        rows.first()
            .map(|row| row.try_get::<_, String>(0).map_err(|e| db_error(&e)))
            .transpose()
    }
}
