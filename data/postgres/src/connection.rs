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

    /// Runs the statements one after the other without waiting for each answer (pipelined).
    pub fn execute_all(&self, statements: &[(&str, Vec<Param>)]) -> Result<(), StoreError> {
        let client = self.client;
        let result = self.runtime.block_on(try_join_all(statements.iter().map(
            |(sql, params)| async move {
                let statement = client.prepare_cached(sql).await?;
                client.execute(&statement, &borrowed(params)).await
            },
        )));
        self.noted(result.map(|_| ()))
    }
}
