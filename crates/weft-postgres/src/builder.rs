//! [`PostgresStorageBuilder`]: a store's settings, and connecting (pool, schema, migrations).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, Pool, Runtime};
use tokio_postgres::NoTls;
use weft_runtime::storage::LogLimits;
use weft_runtime::{Error, Result};

use crate::blocking::Blocking;
use crate::error::{self, Target};
use crate::store::{PostgresStorage, Shared};
use crate::tls::{self, Tls};

/// How many connections a store's pool opens at most, by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long a claim on a run lasts unless renewed, by default
/// ([`PostgresStorageBuilder::lease`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The shortest lease [`PostgresStorageBuilder::lease`] takes: a worker renews its claim every
/// third of it, a round trip each time.
pub const MIN_LEASE: Duration = Duration::from_millis(100);

/// The longest lease [`PostgresStorageBuilder::lease`] takes: a run whose worker died waits
/// this long before another takes it over.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a call waits for a free connection of the pool, by default
/// ([`PostgresStorageBuilder::pool_wait_timeout`]).
pub const DEFAULT_POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a connection may take when the URL sets no `connect_timeout`: the TCP
/// connection (per address), and opening a pooled connection as a whole (TCP, TLS handshake,
/// startup and login).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the pool may take to check a connection before handing it out again.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(10);

/// TCP keepalives (when the URL leaves them on, its default): a peer that vanished (a host
/// down, a network cut, a NAT that forgot the connection) is noticed within about two minutes
/// instead of the system's two hours: the first probe after a minute idle, then every 15 s, up
/// to 4.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(15);
const KEEPALIVES_RETRIES: u32 = 4;

/// tokio-postgres' default idle time before the first keepalive probe (then the URL did not
/// set one).
const SYSTEM_KEEPALIVES_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

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
    pool_wait_timeout: Duration,
    /// The PEM texts given to [`root_certificates_pem`](Self::root_certificates_pem).
    root_certificates: Vec<Vec<u8>>,
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
            pool_wait_timeout: DEFAULT_POOL_WAIT_TIMEOUT,
            root_certificates: Vec::new(),
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
    ///
    /// From [`MIN_LEASE`] (100 ms) to [`MAX_LEASE`] (1 day); another is refused by
    /// [`connect`](Self::connect) with [`Error::Config`].
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a call waits for a free connection when all `pool_size` are busy (default
    /// [`DEFAULT_POOL_WAIT_TIMEOUT`], 30 s) before it fails with [`Error::Storage`] ("no free
    /// connection"), rather than waiting on a starved pool for ever. (Opening a connection is
    /// bounded apart: by the URL's `connect_timeout`, 10 s if it sets none.)
    pub fn pool_wait_timeout(mut self, timeout: Duration) -> Self {
        self.pool_wait_timeout = timeout;
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

    /// Trusts the CA certificates in `pem` (PEM text, one `-----BEGIN CERTIFICATE-----` block
    /// or more), on top of the webpki roots, to check the server's certificate with
    /// `sslmode=verify-ca` or `verify-full` (the other modes do not check it). Calls add up.
    /// A PEM that holds no readable certificate is refused by [`connect`](Self::connect) with
    /// [`Error::Config`].
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref().to_vec());
        self
    }

    /// Connects: opens the pool, creates the schema and brings its tables to this weft's
    /// version (see the crate docs), and checks the server can be reached.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid schema name, a lease out of range or an unreadable
    /// [`root_certificates_pem`](Self::root_certificates_pem); [`Error::Storage`] for an
    /// invalid URL (or `sslmode`), a server that cannot be reached, refuses the login or
    /// whose TLS certificate is not accepted, or a database whose weft schema is newer than
    /// this weft knows (left untouched). No message holds the password.
    pub async fn connect(self) -> Result<PostgresStorage> {
        let (config, tls) = self.config()?;
        let target = Target::of(&config);
        let pool = self.pool(&config, &tls, &target)?;
        {
            let mut client = pool
                .get()
                .await
                .map_err(|err| error::pool(&target, &pool, "connect", err))?;
            crate::migrate::run(&mut client, self.schema.as_deref(), &target).await?;
        }
        Ok(PostgresStorage::from_shared(Arc::new(Shared {
            pool,
            blocking: Blocking::new(config, tls, target.clone()),
            target,
            schema: self.schema,
            pool_size: self.pool_size,
            lease: self.lease,
            limits: self.limits,
        })))
    }

    /// Checks the settings and makes the connections' configuration: the URL's, with a
    /// connect timeout, keepalives, the application name and the schema as the URL leaves
    /// them unset; and the TLS connector of its `sslmode`.
    fn config(&self) -> Result<(tokio_postgres::Config, Tls)> {
        if let Some(schema) = &self.schema {
            validate_schema(schema)?;
        }
        validate_lease(self.lease)?;
        let (url, mode) = tls::split_sslmode(&self.url)?;
        let mut config = parse(&url)?;
        let tls = tls::connector(&mut config, mode, &self.root_certificates)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // On unless the URL says `keepalives=0`; its own timings win.
        if config.get_keepalives() {
            config.keepalives(true);
            if config.get_keepalives_idle() == SYSTEM_KEEPALIVES_IDLE {
                config.keepalives_idle(KEEPALIVES_IDLE);
            }
            if config.get_keepalives_interval().is_none() {
                config.keepalives_interval(KEEPALIVES_INTERVAL);
            }
            if config.get_keepalives_retries().is_none() {
                config.keepalives_retries(KEEPALIVES_RETRIES);
            }
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
        Ok((config, tls))
    }

    /// The pool (no connection opened yet), every wait in it bounded.
    fn pool(&self, config: &tokio_postgres::Config, tls: &Tls, target: &Target) -> Result<Pool> {
        // Opening a connection as a whole (the URL's `connect_timeout` bounds each TCP
        // attempt only, not the startup and login after it).
        let create_timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT)
            .max(CONNECT_TIMEOUT);
        let manager = match tls {
            Tls::Plain => Manager::new(config.clone(), NoTls),
            Tls::Rustls(connector) => Manager::new(config.clone(), connector.clone()),
        };
        Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.pool_wait_timeout))
            .create_timeout(Some(create_timeout))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .build()
            .map_err(|err| Error::Storage {
                message: format!("could not set up the connection pool for {target}"),
                source: Some(Box::new(err)),
            })
    }
}

impl fmt::Debug for PostgresStorageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parsed = tls::split_sslmode(&self.url)
            .ok()
            .and_then(|(url, _)| url.parse::<tokio_postgres::Config>().ok());
        let url = match parsed {
            Some(config) => Target::of(&config).to_string(),
            None => "(an invalid URL)".to_string(),
        };
        f.debug_struct("PostgresStorageBuilder")
            .field("url", &url)
            .field("pool_size", &self.pool_size)
            .field("lease", &self.lease)
            .field("limits", &self.limits)
            .field("schema", &self.schema)
            .field("pool_wait_timeout", &self.pool_wait_timeout)
            .field("root_certificates", &self.root_certificates.len())
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

/// Refuses a lease out of [`MIN_LEASE`]..=[`MAX_LEASE`].
fn validate_lease(lease: Duration) -> Result<()> {
    if (MIN_LEASE..=MAX_LEASE).contains(&lease) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "a lease of {lease:?} is out of range: give `PostgresStorageBuilder::lease` between 100 ms and 1 day (24 h)"
        )))
    }
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
    fn leases_are_from_100_ms_to_a_day() {
        for good in [MIN_LEASE, DEFAULT_LEASE, MAX_LEASE] {
            validate_lease(good).unwrap();
        }
        for bad in [
            Duration::ZERO,
            Duration::from_millis(99),
            MAX_LEASE + Duration::from_millis(1),
            Duration::MAX,
        ] {
            match validate_lease(bad) {
                Err(Error::Config(message)) => {
                    assert!(message.contains("between 100 ms and 1 day"), "{message}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn connections_time_out_and_keep_alive_unless_the_url_says_otherwise() {
        let builder = PostgresStorageBuilder::new("postgres://ada@db.example/weft").pool_size(3);
        let (config, tls) = builder.config().unwrap();
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert!(config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), KEEPALIVES_IDLE);
        assert_eq!(config.get_keepalives_interval(), Some(KEEPALIVES_INTERVAL));
        assert_eq!(config.get_keepalives_retries(), Some(KEEPALIVES_RETRIES));
        assert_eq!(config.get_application_name(), Some("weft"));
        let pool = builder.pool(&config, &tls, &Target::of(&config)).unwrap();
        let timeouts = pool.timeouts();
        assert_eq!(
            (timeouts.wait, timeouts.create, timeouts.recycle),
            (
                Some(DEFAULT_POOL_WAIT_TIMEOUT),
                Some(CONNECT_TIMEOUT),
                Some(RECYCLE_TIMEOUT)
            )
        );
        assert_eq!(pool.status().max_size, 3);

        let builder = PostgresStorageBuilder::new(
            "postgres://ada@db.example/weft?connect_timeout=30&keepalives_idle=300&application_name=app",
        )
        .pool_wait_timeout(Duration::from_secs(5));
        let (config, tls) = builder.config().unwrap();
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(30)));
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(300));
        assert_eq!(config.get_application_name(), Some("app"));
        let timeouts = builder
            .pool(&config, &tls, &Target::of(&config))
            .unwrap()
            .timeouts();
        assert_eq!(
            (timeouts.wait, timeouts.create),
            (Some(Duration::from_secs(5)), Some(Duration::from_secs(30)))
        );

        let (config, _) =
            PostgresStorageBuilder::new("postgres://ada@db.example/weft?keepalives=0")
                .config()
                .unwrap();
        assert!(!config.get_keepalives());
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
