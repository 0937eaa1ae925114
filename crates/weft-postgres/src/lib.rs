//! # weft-postgres
//!
//! [`PostgresStorage`]: weft's [`WorkflowStorage`](weft_runtime::WorkflowStorage) in a
//! PostgreSQL database (11 or later; tested with 15) that many processes share: sessions,
//! runs, each run's event log and journal, and the claims that let several workers take runs
//! over from one another safely.
//!
//! ```no_run
//! use std::time::Duration;
//! use weft_postgres::PostgresStorage;
//!
//! # async fn example() -> weft_runtime::Result<()> {
//! // The defaults: a pool of 16 connections, 30 s leases, the tables in `public`.
//! let store = PostgresStorage::connect("postgres://weft:secret@localhost:5432/app").await?;
//!
//! // Or configured, here with the tables in a schema of their own.
//! let store = PostgresStorage::builder("postgres://weft:secret@localhost:5432/app")
//!     .schema("weft")
//!     .pool_size(32)
//!     .lease(Duration::from_secs(10))
//!     .connect()
//!     .await?;
//! // Hand it to a workflow: `MyWorkflow::builder().storage(store.clone())`.
//! # drop(store); Ok(()) }
//! ```
//!
//! ## Connecting
//! [`PostgresStorage::connect`] (or [`PostgresStorageBuilder::connect`]) opens a
//! [deadpool](deadpool_postgres) pool of tokio-postgres connections, creates the schema if one
//! was set ([`PostgresStorageBuilder::schema`]; every connection then sets its `search_path`
//! to it) and brings weft's tables to the version this crate knows ([`SCHEMA_VERSION`]): the
//! migrations are SQL embedded in the crate, applied in one transaction under an advisory
//! lock, so processes that connect at once apply each one once, and recorded in
//! `weft_schema_version`. A database whose schema is newer than this crate knows is refused
//! with [`Error::Storage`](weft_runtime::Error::Storage) ("upgrade weft"), and left untouched.
//!
//! Nothing waits for ever on a server that is slow, gone or starved of connections:
//! - a call waits for a free pooled connection [`DEFAULT_POOL_WAIT_TIMEOUT`] (30 s) at most
//!   ([`PostgresStorageBuilder::pool_wait_timeout`]), then fails with
//!   [`Error::Storage`](weft_runtime::Error::Storage) saying the pool stayed busy;
//! - opening a connection is bounded by the URL's `connect_timeout` (10 s when it sets none):
//!   each TCP attempt, and the whole of it (TCP, TLS, startup and login; 10 s at least); checking
//!   a pooled connection before it is handed out again, by 10 s;
//! - connections send TCP keepalives (unless the URL sets `keepalives=0`): after a minute
//!   idle, then every 15 s, 4 probes (the URL's `keepalives_idle`, `keepalives_interval` and
//!   `keepalives_retries` win), so a peer that vanished is noticed in about two minutes;
//! - the blocking calls (below) wait 60 s at most, and their connection has a 30 s
//!   `statement_timeout`.
//!
//! The lease ([`PostgresStorageBuilder::lease`]) is checked at connect: from [`MIN_LEASE`]
//! (100 ms) to [`MAX_LEASE`] (1 day), else [`Error::Config`](weft_runtime::Error::Config).
//!
//! TLS (rustls, with the `ring` provider) follows the URL's `sslmode`, as libpq does, for
//! every connection of the store (the pool's and the blocking worker's):
//! - `disable`, and also `allow`, `prefer` or no `sslmode` at all: plain TCP. Unlike libpq,
//!   weft does not try TLS unless asked: a server's self-signed certificate would otherwise
//!   make default URLs fail;
//! - `require`: TLS, the certificate not verified (encryption only, as libpq's `require`
//!   without a root certificate);
//! - `verify-ca`: TLS, the certificate's chain verified against the
//!   [webpki roots](https://docs.rs/webpki-roots) and any given with
//!   [`PostgresStorageBuilder::root_certificates_pem`], but not its host name;
//! - `verify-full`: as `verify-ca`, and the certificate must name the host of the URL.
//!
//! A certificate that does not verify is an [`Error::Storage`](weft_runtime::Error::Storage)
//! saying so (use `sslmode=require`, or give the server's CA with `root_certificates_pem`).
//! A server reached over Unix sockets only is always plain. Error messages and `Debug` output
//! name the server as `postgres://user@host:port/database`, never with the password.
//!
//! ## Schema
//! - `weft_sessions`: one row per session, its fields as columns (`session_state` as JSON
//!   text), indexed newest first overall, by workflow and by user.
//! - `weft_runs`: one row per run, the record as JSON text, with its id, session, workflow,
//!   status and times as columns; `position` (an identity column) orders a session's runs as
//!   first written.
//! - `weft_events` (`run_id`, `seq`) and `weft_journal` (`run_id`, `position`): each run's
//!   event log and journal, one row per item or entry, as JSON text; `weft_log_heads`: each
//!   run's last seq and journal length.
//! - `weft_claims`: one row per run in flight or waiting to be resumed: owner, fencing token,
//!   when the claim lapses (a `timestamptz`, compared with the database's `now()`), and
//!   whether another server asked for the run to be cancelled (`request_cancel`; the worker
//!   holding the claim checks it every second); `weft_fences`, the sequence every token
//!   comes from.
//! - Four PL/pgSQL functions (`weft_upsert_session`, `weft_put_run`, `weft_append_log`,
//!   `weft_delete_session`) do the checked writes in one round trip each.
//!
//! A claim row outlives its run in one case only: a run claimed (`claim_run`) whose worker
//! failed before it wrote the run's first record. This is accepted: such a row is small,
//! nothing reads it again (a new run gets a new id), and nothing offers it for a takeover:
//! `interrupted_runs` lists rows of `weft_runs` (joined with their claims), so a claim with no
//! run record is never listed. It is not swept; delete such rows by hand if they pile up
//! (`DELETE FROM weft_claims c WHERE c.expires_at <= now() AND NOT EXISTS (SELECT 1 FROM
//! weft_runs r WHERE r.run_id = c.run_id)`).
//!
//! JSON is kept in `text` columns rather than `jsonb`: `jsonb` refuses the `\u0000` escape a
//! model's or tool's output may hold, and text is stored and read back without being parsed
//! again. Cast to `jsonb` to query into it.
//!
//! ## How the calls are done
//! Every call takes a pooled connection and a statement prepared once per connection, and is
//! one round trip and one transaction:
//! - session writes are compare-and-swap on `version` (the loser gets
//!   [`Error::Conflict`](weft_runtime::Error::Conflict) and writes nothing);
//!   `delete_session` (`weft_delete_session`) first locks and deletes the claims of the
//!   session's runs, as every writer of a run takes its claim first: it waits for the writes
//!   in flight (they hold the claim) and the writes after it find no claim and are refused
//!   ([`Error::Fenced`](weft_runtime::Error::Fenced)). Then, in later statements, each with a
//!   fresh snapshot (so they see what the writes it waited for committed), it deletes the
//!   runs' heads, logs and journals, the runs and the session: nothing of the session is left,
//!   and it never deadlocks with a writer. (A run whose first record is written while the
//!   session is being deleted may outlive it, as one written right after would.)
//! - `claim_run` is one `INSERT … ON CONFLICT DO UPDATE … WHERE` the held claim lapsed, with
//!   a new fencing token from one sequence for all runs (tokens only ever grow: a token is
//!   never handed out twice, even for a run whose claim ended or was deleted); leases are
//!   timed by the database's clock, so workers whose clocks disagree agree on when a claim
//!   lapses;
//! - every write of a run (`put_run`, `append_log`, `reserve_seqs`,
//!   `upsert_session_for_run`, `save_blocking`) checks the run's claim in its transaction
//!   (`FOR SHARE`, so a claim taken meanwhile waits for the write) and is refused with
//!   [`Error::Fenced`](weft_runtime::Error::Fenced), writing nothing, when the claim has
//!   another token, or when the run has none and the write carries one
//!   ([`check_fence`](weft_runtime::storage::check_fence)); a run record written
//!   `interrupted` or `paused` releases its claim (the next claim takes the run at once), one written
//!   `completed`, `failed` or `cancelled` ends it (deletes it, so its token is refused);
//! - `append_log` checks the batch here, then the fence and the run's head in the database,
//!   under the head's row lock. A commit is durable when it returns, so no seq is ever
//!   reserved and the log never jumps: `reserve_seqs` checks the fence, writes nothing and
//!   returns `u64::MAX` (no crash can lose an item, so every seq is covered), after which the
//!   run's log writer never calls it again, rather than once per item; `log_head`'s
//!   `reserved_seq` stays 0;
//! - `interrupted_runs` lists runs left `interrupted`, and runs `running` whose claim lapsed
//!   (their worker died or stalled), oldest first. Renewing a claim with a stale token is one
//!   more round trip, to name the current token in the error.
//!
//! `save_blocking` and `read_session_blocking` (called from `Drop`, with or without an async
//! runtime) run on a dedicated thread with a connection of its own, never on the caller's
//! runtime. The caller waits 60 s at most; a call is tried again on a new connection only if
//! the connection failed before any of its statements was sent (a write cut short after may
//! have been committed).

mod blocking;
mod builder;
mod claims;
mod error;
mod log;
mod migrate;
mod runs;
mod sessions;
mod store;
mod tls;

pub use builder::{
    PostgresStorageBuilder, DEFAULT_LEASE, DEFAULT_POOL_SIZE, DEFAULT_POOL_WAIT_TIMEOUT, MAX_LEASE,
    MIN_LEASE,
};
pub use migrate::SCHEMA_VERSION;
pub use store::PostgresStorage;
