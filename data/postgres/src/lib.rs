//! The PostgreSQL engine behind [`tack_data::Store`]: several `tack serve` nodes share one
//! database. Records are kept whole in the record form beside the ids and enums their queries
//! look them up by (`migrations/`); the write planner's rules run above, as on every engine
//! ([`tack_data::plan`]); each node's one writer commits batches of writes in transactions
//! that serialise on the counter rows, so sequence numbers are gap-free in commit order across
//! the whole cluster.

mod backup;
mod connection;
mod follow;
mod health;
mod node;
mod pool;
mod reads;
mod schema;
mod session_places;
mod shared;
mod store;
mod tables;
mod write_tx;
mod writer;

pub use backup::{check, repair, restore};
pub use node::PgStore;
pub use pool::PgConfig;

use tack_data::StoreError;

/// A database error as the store reports it. A connection that is gone is `Unavailable`: the
/// pool reconnects, and the request may be tried again.
pub(crate) fn db_error(err: &tokio_postgres::Error) -> StoreError {
    if err.is_closed() || err.code().is_none() {
        StoreError::Unavailable(unreachable(&err.to_string()))
    } else {
        StoreError::Engine(format!("PostgreSQL: {err}"))
    }
}

pub(crate) fn unreachable(reason: &str) -> String {
    format!("PostgreSQL cannot be reached ({reason}); tack reconnects by itself")
}

/// A connection URL with its password replaced, for logs and errors.
pub fn redacted(url: &str) -> String {
    let mut out = url.to_owned();
    // postgres://user:password@host/db
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find('/').map_or(out.len(), |at| rest + at);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    // password=... as a key=value setting or a query parameter
    let mut search = 0;
    while let Some(found) = out[search..].find("password=") {
        let start = search + found + "password=".len();
        let end = out[start..]
            .find([' ', '&'])
            .map_or(out.len(), |at| start + at);
        out.replace_range(start..end, "***");
        search = start + 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_password_never_shows() {
        assert_eq!(
            redacted("postgres://tack:s3cret@db.example:5432/tack"),
            "postgres://tack:***@db.example:5432/tack"
        );
        assert_eq!(
            redacted("postgres://tack@db/tack?password=s3cret&sslmode=require"),
            "postgres://tack@db/tack?password=***&sslmode=require"
        );
        assert_eq!(
            redacted("host=/tmp user=tack password=s3cret dbname=tack"),
            "host=/tmp user=tack password=*** dbname=tack"
        );
        assert_eq!(redacted("postgres:///tack"), "postgres:///tack");
    }
}
