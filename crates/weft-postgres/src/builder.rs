//! [`PostgresStorageBuilder`]: a store's settings, and connecting (pool, schema, migrations).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, Pool};
use tokio_postgres::NoTls;
use weft_runtime::storage::LogLimits;
use weft_runtime::{Error, Result};

use crate::blocking::Blocking;
use crate::error::{self, Target};
use crate::store::{PostgresStorage, Shared};

/// How many connections a store's pool opens at most, by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a claim on a run lasts unless renewed, by default
/// ([`PostgresStorageBuilder::lease`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long opening a connection may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`PostgresStorage`] before it connects; see [`PostgresStorage::builder`].
///
/// Its `Debug` shows the URL without its password.
#[derive(Clone)]
#[must_use = "call `.connect().await`"]
pub struct PostgresStorageBuilder {
    url: String,
    pool_size: usize,
    lease: Duration,
    limits: LogLimits,
    schema: Option<String>,
}

impl PostgresStorageBuilder {
    /// A builder for the database at `url`, with the defaults.
    pub(crate) fn new(url: &str) -> Self {
        PostgresStorageBuilder {
            url: url.to_string(),
            pool_size: DEFAULT_POOL_SIZE,
            lease: DEFAULT_LEASE,
            limits: LogLimits::default(),
            schema: None,
        }
    }

    /// How many connections the store opens at most (default [`DEFAULT_POOL_SIZE`], 16; at
    /// least 1). Calls beyond it wait for a free connection. The synchronous `Drop` path
    /// (`save_blocking`) has one connection of its own on top.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long a claim on a run lasts unless its worker renews it (default
    /// [`DEFAULT_LEASE`], 30 s): what [`lease`](weft_runtime::WorkflowStorage::lease)
    /// returns. A run's worker renews its claim every third of it; a run whose worker died or
    /// stalled past it is listed by `interrupted_runs` and taken over by the next claim.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The largest logged event and journal entry an append takes (default
    /// [`LogLimits::default`]: 1 MiB and 16 MiB); a larger one is refused with
    /// [`Error::LogRecordTooLarge`] and nothing of its append is written.
    pub fn log_limits(mut self, limits: LogLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps the store's tables in this schema (created when missing), so several stores
    /// can share one database; by default they are in the connection's default schema
    /// (`public`). A name is 1 to 63 characters of `a-z`, `0-9` and `_`, not starting with a
    /// digit; another is refused by [`connect`](Self::connect).
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = Some(name.into());
        self
    }

    /// Connects: opens the pool, creates the schema and brings its tables to this weft's
    /// version (see the crate docs), and checks the server can be reached.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid schema name; [`Error::Storage`] for an invalid URL,
    /// a server that cannot be reached or refuses the login, or a database whose weft
    /// schema is newer than this weft knows (left untouched). No message holds the password.
    pub async fn connect(self) -> Result<PostgresStorage> {
        if let Some(schema) = &self.schema {
            validate_schema(schema)?;
        }
        let mut config = parse(&self.url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("weft");
        }
        if let Some(schema) = &self.schema {
            // Every connection (the pool's, the blocking worker's) works in the schema.
            let option = format!("-c search_path={schema}");
            let options = match config.get_options() {
                Some(options) if !options.trim().is_empty() => format!("{options} {option}"),
                _ => option,
            };
            config.options(options);
        }
        let target = Target::of(&config);
        let pool = Pool::builder(Manager::new(config.clone(), NoTls))
            .max_size(self.pool_size)
            .build()
            .map_err(|err| Error::Storage {
                message: format!("could not set up the connection pool for {target}"),
                source: Some(Box::new(err)),
            })?;
        {
            let mut client = pool
                .get()
                .await
                .map_err(|err| error::pool(&target, "connect", err))?;
            crate::migrate::run(&mut client, self.schema.as_deref(), &target).await?;
        }
        Ok(PostgresStorage::from_shared(Arc::new(Shared {
            pool,
            blocking: Blocking::new(config, target.clone()),
            target,
            schema: self.schema,
            pool_size: self.pool_size,
            lease: self.lease,
            limits: self.limits,
        })))
    }
}

impl fmt::Debug for PostgresStorageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.url.parse::<tokio_postgres::Config>() {
            Ok(config) => Target::of(&config).to_string(),
            Err(_) => "(an invalid URL)".to_string(),
        };
        f.debug_struct("PostgresStorageBuilder")
            .field("url", &url)
            .field("pool_size", &self.pool_size)
            .field("lease", &self.lease)
            .field("limits", &self.limits)
            .field("schema", &self.schema)
            .finish()
    }
}

/// The URL as a connection configuration.
fn parse(url: &str) -> Result<tokio_postgres::Config> {
    url.parse().map_err(|err| Error::Storage {
        message: "the PostgreSQL URL is not valid: write it as postgres://user:password@host:port/database (or as key=value pairs)".to_string(),
        source: Some(Box::new(err)),
    })
}

/// Refuses a schema name that is not a plain lowercase identifier.
fn validate_schema(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "`{name}` is not a schema name weft takes: use 1 to 63 characters of a-z, 0-9 and _, not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_lowercase_identifiers() {
        for good in ["weft", "_x", "weft_t_0af3", &"a".repeat(63)] {
            validate_schema(good).unwrap();
        }
        for bad in ["", "Weft", "1x", "a-b", "a b", "a\"b", "ä", &"a".repeat(64)] {
            assert!(
                matches!(validate_schema(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_builder_debug_hides_the_password() {
        let builder = PostgresStorageBuilder::new("postgres://ada:s3cret@localhost:5432/db");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://ada@localhost:5432/db"),
            "{shown}"
        );
        let shown = format!(
            "{:?}",
            PostgresStorageBuilder::new("postgres://ada:s3cret@")
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
