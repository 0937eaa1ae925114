//! Database errors as weft errors that say what to do, and the conversions between weft's
//! `u64`s and Postgres' `bigint`s. No message ever holds the password: they name the server
//! by [`Target`], which has none.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Pool, PoolError, TimeoutType};
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use weft_runtime::Error;

/// Where a store connects, as messages and `Debug` show it: `postgres://user@host:port/db`,
/// never the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The user, if the URL names one.
    user: Option<String>,
    /// `host:port`, comma-separated when the URL lists several hosts.
    address: String,
    /// The database, if the URL names one.
    dbname: Option<String>,
}

impl Target {
    /// The target of a parsed configuration.
    pub(crate) fn of(config: &tokio_postgres::Config) -> Target {
        let ports = config.get_ports();
        let address = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(index, host)| {
                let host = match host {
                    Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    Host::Unix(path) => path.display().to_string(),
                };
                // libpq's rule: one port for all hosts, or one per host; 5432 by default.
                let port = ports
                    .get(index)
                    .or_else(|| ports.first())
                    .copied()
                    .unwrap_or(5432);
                format!("{host}:{port}")
            })
            .collect::<Vec<_>>()
            .join(",");
        Target {
            user: config.get_user().map(str::to_string),
            address: if address.is_empty() {
                "localhost:5432".to_string()
            } else {
                address
            },
            dbname: config.get_dbname().map(str::to_string),
        }
    }

    /// `host:port` (of every host).
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The user, or `(default user)`.
    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("(default user)")
    }

    /// The database, or the user's name (PostgreSQL's default).
    fn dbname(&self) -> &str {
        self.dbname
            .as_deref()
            .or(self.user.as_deref())
            .unwrap_or("(default database)")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.address)?;
        if let Some(dbname) = &self.dbname {
            write!(f, "/{dbname}")?;
        }
        Ok(())
    }
}

/// A database error met while doing `doing` ("write run `r`"), as an [`Error::Storage`] that
/// says what to do about it.
pub(crate) fn database(target: &Target, doing: &str, err: tokio_postgres::Error) -> Error {
    let address = target.address();
    let message = match err.code() {
        Some(code)
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            format!(
                "PostgreSQL at {address} refused the login of user `{}`: check the user and password in the URL",
                target.user()
            )
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => format!(
            "the database `{}` does not exist on PostgreSQL at {address}: create it (`CREATE DATABASE {}`) or fix the URL",
            target.dbname(),
            target.dbname()
        ),
        Some(code) if *code == SqlState::TOO_MANY_CONNECTIONS => format!(
            "PostgreSQL at {address} has no connection left to {doing}: lower the store's `pool_size` or raise the server's `max_connections`"
        ),
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => format!(
            "PostgreSQL at {address} did not let user `{}` {doing}: grant it the rights on the store's schema (its tables and functions), or use another user",
            target.user()
        ),
        Some(code)
            if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_FUNCTION =>
        {
            format!(
                "could not {doing}: weft's tables or functions are missing from the database at {address} (dropped since the store connected?); connect again to recreate them"
            )
        }
        Some(_) => format!("PostgreSQL at {address} could not {doing}"),
        None => match crate::tls::certificate_refused(&err) {
            Some(reason) => format!(
                "the server's TLS certificate was not accepted: PostgreSQL at {address} sent a certificate that does not verify ({reason}); use sslmode=require to encrypt without verifying, or give its CA with root_certificates_pem"
            ),
            None if err.is_closed() => format!(
                "lost the connection to PostgreSQL at {address} while trying to {doing}: is the server running? the next call reconnects"
            ),
            None => format!(
                "could not reach PostgreSQL at {address} to {doing}: is it running? check the URL (host and port) and the network"
            ),
        },
    };
    Error::Storage {
        message,
        source: Some(Box::new(err)),
    }
}

/// Why an operation failed: the database, or weft's own rules (refused writes, unreadable
/// records). [`Failure::into_error`] gives the first its context.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The database failed.
    Db(tokio_postgres::Error),
    /// A weft error, as it is.
    Weft(Error),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(err: tokio_postgres::Error) -> Self {
        Failure::Db(err)
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::Weft(err)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(err: serde_json::Error) -> Self {
        Failure::Weft(Error::Serde(err))
    }
}

impl Failure {
    /// The weft error, a database one saying it happened while doing `doing`.
    pub(crate) fn into_error(self, target: &Target, doing: &str) -> Error {
        match self {
            Failure::Db(err) => database(target, doing, err),
            Failure::Weft(err) => err,
        }
    }
}

/// What an operation returns before its failure gets its context.
pub(crate) type Outcome<T> = std::result::Result<T, Failure>;

/// A pool error met while taking a connection of `pool` to do `doing`: a database error as
/// [`database`] says it, a timeout saying which and what to do.
pub(crate) fn pool(target: &Target, pool: &Pool, doing: &str, err: PoolError) -> Error {
    let address = target.address();
    let timeouts = pool.timeouts();
    let seconds = |timeout: Option<Duration>| timeout.map_or(0.0, |t| t.as_secs_f64());
    let err = match err {
        PoolError::Backend(err) => return database(target, doing, err),
        other => other,
    };
    let message = match &err {
        PoolError::Timeout(TimeoutType::Wait) => format!(
            "no free connection to PostgreSQL at {address} to {doing}: all {} connections of the store's pool stayed busy for {:.1} s; raise `pool_size` (or `pool_wait_timeout`), or look for calls held up by long transactions or locks",
            pool.status().max_size,
            seconds(timeouts.wait)
        ),
        PoolError::Timeout(TimeoutType::Create) => format!(
            "could not open a connection to PostgreSQL at {address} to {doing} within {:.1} s: is the server running and reachable, and not overloaded?",
            seconds(timeouts.create)
        ),
        PoolError::Timeout(TimeoutType::Recycle) => format!(
            "PostgreSQL at {address} did not answer within {:.1} s when a pooled connection was checked, to {doing}: is the server overloaded or unreachable?",
            seconds(timeouts.recycle)
        ),
        _ => format!(
            "no connection to PostgreSQL at {address} to {doing} (the pool failed): is the server running?"
        ),
    };
    Error::Storage {
        message,
        source: Some(Box::new(err)),
    }
}

/// A record that could not be read back: `key` names its table and row.
pub(crate) fn corrupt(key: String, reason: impl fmt::Display) -> Error {
    Error::Corrupt {
        key,
        reason: reason.to_string(),
    }
}

/// A weft `u64` as a `bigint`, saturating: counters and timestamps never come near
/// `i64::MAX` (a timestamp there is 292 million years away).
pub(crate) fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `bigint` read back as a weft `u64`; a negative one was not written by weft.
pub(crate) fn from_db(value: i64, key: impl FnOnce() -> String) -> weft_runtime::Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(key(), format!("negative value {value}")))
}

/// Milliseconds of a lease, as the claim queries take them: `None` for a claim held until
/// released (so is a lease of more than a century, which would overflow a timestamp).
pub(crate) fn lease_millis(lease: Option<std::time::Duration>) -> Option<i64> {
    const CENTURY_MS: u128 = 100 * 366 * 24 * 3600 * 1000;
    lease
        .map(|lease| lease.as_millis())
        .filter(|millis| *millis <= CENTURY_MS)
        .map(|millis| i64::try_from(millis).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_shows_no_password() {
        let config: tokio_postgres::Config = "postgres://ada:s3cret@db.example:6543/weft"
            .parse()
            .unwrap();
        let target = Target::of(&config);
        assert_eq!(target.to_string(), "postgres://ada@db.example:6543/weft");
        assert!(!format!("{target:?}").contains("s3cret"));
        let config: tokio_postgres::Config = "host=a,b port=1 user=u password=p".parse().unwrap();
        assert_eq!(Target::of(&config).to_string(), "postgres://u@a:1,b:1");
    }

    #[test]
    fn conversions_saturate_or_refuse() {
        assert_eq!(to_db(u64::MAX), i64::MAX);
        assert_eq!(from_db(5, String::new).unwrap(), 5);
        assert!(matches!(
            from_db(-1, || "k".into()),
            Err(Error::Corrupt { .. })
        ));
        assert_eq!(lease_millis(None), None);
        assert_eq!(
            lease_millis(Some(std::time::Duration::from_millis(1500))),
            Some(1500)
        );
        assert_eq!(lease_millis(Some(std::time::Duration::MAX)), None);
    }
}
