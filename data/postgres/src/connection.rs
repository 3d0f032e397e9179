//! The writer's connection: the planner's reads and the batch's statements, run to completion
//! from the writer thread on the runtime that drives the pool's connections.

use std::cell::Cell;

use deadpool_postgres::Object;
use futures::StreamExt;
use futures::future::try_join_all;
use tack_data::StoreError;
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db_error;
use crate::tables::{Param, borrowed};

pub(crate) struct Connection<'a> {
    client: &'a Object,
    runtime: &'a Handle,
    /// Set once a statement failed: PostgreSQL aborts the transaction, so the batch is lost.
    failed: Cell<bool>,
}

impl<'a> Connection<'a> {
    pub fn new(client: &'a Object, runtime: &'a Handle) -> Self {
        Connection {
            client,
            runtime,
            failed: Cell::new(false),
        }
    }

    pub fn failed(&self) -> bool {
        self.failed.get()
    }

    fn noted<T>(&self, result: Result<T, tokio_postgres::Error>) -> Result<T, StoreError> {
        result.map_err(|err| {
            self.failed.set(true);
            db_error(&err)
        })
    }

    pub fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let client = self.client;
        let result = self.runtime.block_on(async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, &borrowed(params)).await
        });
        self.noted(result)
    }

    pub fn simple(&self, sql: &str) -> Result<(), StoreError> {
        let result = self.runtime.block_on(self.client.batch_execute(sql));
        self.noted(result)
    }

    /// Streams the rows of a statement without parameters into `each`, one at a time.
    pub fn for_each_row(
        &self,
        sql: &str,
        mut each: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let client = self.client;
        let stream = self.runtime.block_on(async {
            let statement = client.prepare_cached(sql).await?;
            client
                .query_raw(&statement, std::iter::empty::<&(dyn ToSql + Sync)>())
                .await
        });
        let stream = self.noted(stream)?;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = self.runtime.block_on(stream.next()) {
            each(self.noted(row)?)?;
        }
        Ok(())
    }

    /// BEGIN and the transaction's first statement, sent together: one round trip.
    pub fn begin_with(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        let client = self.client;
        let result = self.runtime.block_on(async {
            let statement = client.prepare_cached(sql).await?;
            // Both are sent when first polled, in this order.
            let (_, rows) = futures::future::try_join(
                client.batch_execute("BEGIN"),
                client.query(&statement, &borrowed(params)),
            )
            .await?;
            Ok(rows)
        });
        self.noted(result)
    }

    /// Runs the statements one after the other without waiting for each answer (pipelined).
    pub fn execute_all(&self, statements: &[(&str, Vec<Param>)]) -> Result<(), StoreError> {
        self.pipeline(statements, false)
    }

    /// The statements and then COMMIT, sent at once. A statement that fails aborts the
    /// transaction, and PostgreSQL answers the COMMIT with a rollback: it is an error here.
    pub fn execute_all_and_commit(
        &self,
        statements: &[(&str, Vec<Param>)],
    ) -> Result<(), StoreError> {
        self.pipeline(statements, true)
    }

    fn pipeline(&self, statements: &[(&str, Vec<Param>)], commit: bool) -> Result<(), StoreError> {
        let client = self.client;
        let result = self.runtime.block_on(async {
            // Prepared first (once per connection), so that nothing waits between the sends
            // and each statement goes out before the COMMIT behind it.
            let mut prepared = Vec::with_capacity(statements.len());
            for (sql, _) in statements {
                prepared.push(client.prepare_cached(sql).await?);
            }
            let params: Vec<Vec<&(dyn ToSql + Sync)>> =
                statements.iter().map(|(_, p)| borrowed(p)).collect();
            let executed = try_join_all(
                prepared
                    .iter()
                    .zip(&params)
                    .map(|(statement, params)| client.execute(statement, params)),
            );
            if commit {
                let (executed, committed) =
                    futures::future::join(executed, client.batch_execute("COMMIT")).await;
                executed?;
                committed
            } else {
                executed.await.map(|_| ())
            }
        });
        self.noted(result)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::PgConfig;

    /// Everything sent in one pipeline with its COMMIT ran inside the transaction: had a
    /// statement gone out after the COMMIT, it would have run in a transaction of its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pipeline_runs_inside_the_transaction_it_commits() {
        let url = tack_pg_test_cluster::TestCluster::shared()
            .create_database()
            .await;
        let pool = crate::pool::pool(&PgConfig::new(url)).unwrap();
        let client = pool.get().await.unwrap();
        client
            .batch_execute("CREATE TABLE probe (n bigint, tx bigint)")
            .await
            .unwrap();
        let runtime = Handle::current();
        let sent = tokio::task::spawn_blocking(move || {
            let db = Connection::new(&client, &runtime);
            db.begin_with("SELECT txid_current()", &[]).unwrap();
            let statements: Vec<(&str, Vec<Param>)> = (0..200)
                .map(|n| {
                    (
                        "INSERT INTO probe VALUES ($1, txid_current())",
                        vec![Param::Id(n)],
                    )
                })
                .collect();
            db.execute_all_and_commit(&statements).unwrap();
            let rows = db
                .query("SELECT count(*), count(DISTINCT tx) FROM probe", &[])
                .unwrap();
            (rows[0].get::<_, i64>(0), rows[0].get::<_, i64>(1))
        })
        .await
        .unwrap();
        assert_eq!(sent, (200, 1), "(rows, transactions)");
    }
}
