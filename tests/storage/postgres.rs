//! PostgreSQL: the store the generic suite (`conformance`) runs against when
//! `WEFT_TEST_POSTGRES_URL` names a database, each test in a schema of its own; and what only
//! a database shared by many processes has: migrations, the blocking worker thread,
//! connection errors, runs whose claim lapsed listed for a takeover.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;
use weft::storage::{LogHead, LogLimits, LoggedEvent};
use weft::{PostgresStorage, RunRecord, RunResponse, RunStatus, WorkflowStorage};

use crate::fixtures::*;

/// The test database's URL; `None` (after saying so) when unset, unless
/// `WEFT_REQUIRE_POSTGRES=1`, which makes it a failure.
pub fn url() -> Option<String> {
    weft_testkit::postgres::test_url("storage")
}

/// A schema name no other test uses: `weft_t_<random hex>`.
pub fn fresh_name() -> String {
    weft_testkit::postgres::fresh_schema("weft_t")
}

/// A test's schema, dropped with everything in it when the test ends.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    pub fn new(url: &str) -> Schema {
        Schema {
            url: url.to_string(),
            name: fresh_name(),
        }
    }

    /// A store with its tables in this schema.
    pub async fn connect(&self, limits: LogLimits) -> PostgresStorage {
        PostgresStorage::builder(&self.url)
            .schema(&self.name)
            .log_limits(limits)
            .connect()
            .await
            .unwrap()
    }

    /// A plain connection (driven on the current runtime), for SQL behind the store's back.
    pub async fn raw(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// A plain connection working in this schema (its `search_path`), as the store's do.
    pub async fn raw_in(&self) -> tokio_postgres::Client {
        let client = self.raw().await;
        client
            .batch_execute(&format!("SET search_path TO {}", self.name))
            .await
            .unwrap();
        client
    }

    /// The URL with this schema's name as `application_name`, so that a test finds the
    /// connections of its own store in `pg_stat_activity`.
    pub fn url_named(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}application_name={}", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside a runtime: the cleanup gets a thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!(
                            "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A store in a fresh schema, or `None` (skipped) without a database.
pub async fn store(limits: LogLimits) -> Option<(PostgresStorage, Schema)> {
    let schema = Schema::new(&url()?);
    Some((schema.connect(limits).await, schema))
}

/// The tables of a schema, by name.
async fn tables(client: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The versions `weft_schema_version` records.
async fn versions(client: &tokio_postgres::Client, schema: &str) -> Vec<i32> {
    client
        .query(
            &format!("SELECT version FROM {schema}.weft_schema_version ORDER BY version"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Every version this weft knows, as `weft_schema_version` records them once migrated.
fn all_versions() -> Vec<i32> {
    (1..=weft_postgres::SCHEMA_VERSION).collect()
}

/// `interrupted_runs` lists the runs waiting for a worker: those left `interrupted`, and
/// those `running` whose claim lapsed (by the database's clock) or that have none; not those
/// whose worker holds a live claim. Oldest first.
#[tokio::test]
async fn interrupted_runs_are_interrupted_ones_and_running_ones_whose_claim_lapsed() {
    let Some((store, _schema)) = store(LogLimits::default()).await else {
        return;
    };
    let put = |run_id: &str, status: RunStatus, created_at: u64, fence: u64| {
        let mut record = run(run_id, "s", status);
        record.created_at = created_at;
        record.fence = fence;
        record
    };
    store
        .put_run(put("old-interrupted", RunStatus::Interrupted, 1, 0))
        .await
        .unwrap();
    let mut other = put("new-interrupted", RunStatus::Interrupted, u64::MAX - 1, 0);
    other.workflow_id = "other".into();
    store.put_run(other).await.unwrap();
    store
        .put_run(put("done", RunStatus::Completed, 2, 0))
        .await
        .unwrap();
    // Claimed with a zero lease: its worker is as good as dead.
    let lapsed = store
        .claim_run("lapsed", "dead-worker", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    store
        .put_run(put("lapsed", RunStatus::Running, 5, lapsed.fence))
        .await
        .unwrap();
    // Held until released, and held for a minute: their workers are alive.
    let mut live = Vec::new();
    for (run_id, lease, created_at) in [
        ("live", None, 6),
        ("leased", Some(Duration::from_secs(60)), 7),
    ] {
        let claim = store
            .claim_run(run_id, "live-worker", lease)
            .await
            .unwrap()
            .unwrap();
        store
            .put_run(put(run_id, RunStatus::Running, created_at, claim.fence))
            .await
            .unwrap();
        live.push(claim);
    }
    // Running without any claim (written by a tool, or before claims existed).
    store
        .put_run(put("unclaimed", RunStatus::Running, 8, 0))
        .await
        .unwrap();

    let ids = |runs: Vec<weft::RunRecord>| runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.interrupted_runs(None).await.unwrap()),
        ["old-interrupted", "lapsed", "unclaimed", "new-interrupted"],
        "oldest first"
    );
    assert_eq!(
        ids(store.interrupted_runs(Some("other")).await.unwrap()),
        ["new-interrupted"]
    );
    assert_eq!(
        ids(store.interrupted_runs(Some("wf")).await.unwrap()),
        ["old-interrupted", "lapsed", "unclaimed"]
    );

    // A successor takes the lapsed run over: it leaves the list.
    let successor = store
        .claim_run("lapsed", "successor", None)
        .await
        .unwrap()
        .unwrap();
    assert!(successor.fence > lapsed.fence);
    // The live run's worker interrupts it: listed, and its claim released.
    store
        .put_run(put("live", RunStatus::Interrupted, 6, live[0].fence))
        .await
        .unwrap();
    assert_eq!(
        ids(store.interrupted_runs(None).await.unwrap()),
        ["old-interrupted", "live", "unclaimed", "new-interrupted"]
    );
    let resumer = store
        .claim_run("live", "resumer", None)
        .await
        .unwrap()
        .unwrap();
    assert!(resumer.fence > live[0].fence);
}

/// A database whose weft schema is newer than this weft knows is refused with a clear error,
/// and nothing of it is changed.
#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused_and_left_untouched() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let name = &schema.name;
    let raw = schema.raw().await;
    raw.batch_execute(&format!(
        "CREATE SCHEMA {name};
         CREATE TABLE {name}.weft_schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO {name}.weft_schema_version (version, name) VALUES (1, 'init'), (99, 'from the future');
         CREATE TABLE {name}.marker (x integer);
         INSERT INTO {name}.marker VALUES (7);"
    ))
    .await
    .unwrap();
    let before = tables(&raw, name).await;

    let err = PostgresStorage::builder(&url)
        .schema(name)
        .connect()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, weft::Error::Storage { .. }), "{err:?}");
    assert!(
        message.contains("the database schema is version 99")
            && message.contains(&format!(
                "this weft knows up to {}",
                weft_postgres::SCHEMA_VERSION
            ))
            && message.contains("upgrade weft"),
        "{message}"
    );
    assert_eq!(tables(&raw, name).await, before, "no table created");
    assert_eq!(versions(&raw, name).await, [1, 99], "no version recorded");
    let marker: i32 = raw
        .query_one(&format!("SELECT x FROM {name}.marker"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(marker, 7);
}

/// Three processes starting at once on a fresh schema: every connect succeeds, the
/// migrations are applied once, and the stores share the tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn three_concurrent_connects_to_a_fresh_schema_all_succeed() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let connect = || {
        let (url, name) = (url.clone(), schema.name.clone());
        tokio::spawn(async move { PostgresStorage::builder(&url).schema(name).connect().await })
    };
    let (a, b, c) = tokio::join!(connect(), connect(), connect());
    let (a, b, c) = (
        a.unwrap().unwrap(),
        b.unwrap().unwrap(),
        c.unwrap().unwrap(),
    );
    let raw = schema.raw().await;
    assert_eq!(
        versions(&raw, &schema.name).await,
        all_versions(),
        "migrated once"
    );
    a.upsert_session(session("s", "wf", None, 1)).await.unwrap();
    assert_eq!(b.read_session("s").await.unwrap().unwrap().version, 1);
    assert_eq!(c.list_sessions(Default::default()).await.unwrap().len(), 1);
    // Connecting again finds nothing to do.
    drop(schema.connect(LogLimits::default()).await);
    assert_eq!(versions(&raw, &schema.name).await, all_versions());
}

/// `save_blocking` and `read_session_blocking` from a plain thread, with no runtime at all
/// (the runtime that connected the store is gone by then): the session and run are written
/// in one transaction, fenced, and a lost compare-and-swap writes neither.
#[test]
fn save_blocking_works_from_a_plain_thread() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((store, schema)) = runtime.block_on(store(LogLimits::default())) else {
        return;
    };
    let claim = runtime
        .block_on(store.claim_run("r", "worker", None))
        .unwrap()
        .unwrap();
    drop(runtime);
    let fence = claim.fence;

    let saver = store.clone();
    let (saved, read, conflict, fenced) = std::thread::spawn(move || {
        let mut record = run("r", "s", RunStatus::Running);
        record.fence = fence;
        let saved = saver
            .save_blocking(Some(session("s", "wf", None, 1)), record.clone())
            .unwrap()
            .unwrap();
        let read = saver.read_session_blocking("s").unwrap();
        // A stale session: neither it nor the run record is written.
        record.status = RunStatus::Cancelled;
        let conflict = saver.save_blocking(Some(session("s", "wf", None, 2)), record.clone());
        // A stale fence: nothing written either.
        record.fence = fence + 1;
        let fenced = saver.save_blocking(Some(saved.clone()), record);
        (saved, read, conflict, fenced)
    })
    .join()
    .unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(read.as_ref(), Some(&saved));
    assert!(
        matches!(conflict, Err(weft::Error::Conflict { .. })),
        "{conflict:?}"
    );
    assert!(
        matches!(fenced, Err(weft::Error::Fenced { fence: written, current, .. }) if written == fence + 1 && current == fence),
        "{fenced:?}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let record = store.read_run("r").await.unwrap().unwrap();
        assert_eq!(
            record.status,
            RunStatus::Running,
            "the refused saves wrote nothing"
        );
        assert_eq!(store.read_session("s").await.unwrap().unwrap(), saved);
    });
    drop(schema);
}

/// The same from inside a current-thread runtime, as a stream dropped in async code calls it:
/// the caller's thread blocks, the worker thread does the work.
#[tokio::test(flavor = "current_thread")]
async fn save_blocking_works_inside_a_current_thread_runtime() {
    let Some((store, _schema)) = store(LogLimits::default()).await else {
        return;
    };
    let claim = store.claim_run("r", "worker", None).await.unwrap().unwrap();
    let mut record = run("r", "s", RunStatus::Running);
    record.fence = claim.fence;
    store.put_run(record.clone()).await.unwrap();
    record.status = RunStatus::Cancelled;
    record.content = "partial".into();
    let saved = store
        .save_blocking(Some(session("s", "wf", None, 1)), record.clone())
        .unwrap()
        .unwrap();
    assert_eq!(
        store.read_session_blocking("s").unwrap(),
        Some(saved.clone())
    );
    assert_eq!(store.read_run("r").await.unwrap().unwrap(), record);
    assert_eq!(store.read_session("s").await.unwrap().unwrap(), saved);
    // The cancelled record ended the claim: its token is refused from then on, and the next
    // claim takes the run at once.
    assert!(matches!(
        store.save_blocking(None, record.clone()),
        Err(weft::Error::Fenced { current: 0, .. })
    ));
    let next = store.claim_run("r", "next", None).await.unwrap().unwrap();
    assert!(next.fence > claim.fence);
    // Without a session, only the run.
    record.status = RunStatus::Interrupted;
    record.fence = next.fence;
    assert_eq!(store.save_blocking(None, record.clone()).unwrap(), None);
    assert_eq!(store.read_run("r").await.unwrap().unwrap(), record);
}

/// An unreachable server, a URL that does not parse and a database that does not exist are
/// `Error::Storage`s saying what to do, and neither the message nor `Debug` holds the
/// password. (The first two need no database.)
#[tokio::test]
async fn a_bad_url_or_an_unreachable_server_is_a_clear_error_without_the_password() {
    const SECRET: &str = "hunter2-not-shown";
    let refused = |url: String, expected: &'static str| async move {
        let err = PostgresStorage::connect(&url).await.unwrap_err();
        let (shown, debug) = (err.to_string(), format!("{err:?}"));
        assert!(matches!(err, weft::Error::Storage { .. }), "{debug}");
        assert!(shown.contains(expected), "{shown}");
        assert!(
            !shown.contains(SECRET) && !debug.contains(SECRET),
            "{shown}\n{debug}"
        );
    };
    refused(
        format!("postgres://weft:{SECRET}@127.0.0.1:1/weft_test"),
        "could not reach PostgreSQL at 127.0.0.1:1",
    )
    .await;
    refused(
        format!("postgres://weft:{SECRET}@127.0.0.1:notaport/weft_test"),
        "the PostgreSQL URL is not valid",
    )
    .await;
    refused(
        format!("host=127.0.0.1 port=1 user=weft password={SECRET} dbname=weft_test"),
        "could not reach PostgreSQL at 127.0.0.1:1",
    )
    .await;
    let err = PostgresStorage::builder("postgres://weft@127.0.0.1:1/db")
        .schema("Not-A-Schema")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, weft::Error::Config(_)), "{err:?}");

    let Some(url) = url() else { return };
    let (base, _) = url.rsplit_once('/').unwrap();
    refused(
        format!("{base}/weft_no_such_database"),
        "the database `weft_no_such_database` does not exist",
    )
    .await;
}

/// A store's `Debug` names the server, user and database, never the password.
#[tokio::test]
async fn debug_never_shows_the_password() {
    let Some((store, schema)) = store(LogLimits::default()).await else {
        return;
    };
    let config: tokio_postgres::Config = schema.url.parse().unwrap();
    let shown = format!("{store:?}");
    if let Some(password) = config.get_password() {
        let password = String::from_utf8_lossy(password);
        assert!(!shown.contains(&format!(":{password}@")), "{shown}");
        assert!(!shown.contains("password"), "{shown}");
    }
    assert!(shown.contains(&schema.name), "{shown}");
    assert!(shown.contains("postgres://"), "{shown}");
}

/// A session record that cannot be read (changed behind weft's back) is skipped by listings,
/// counted, and takes no place in a page; reading it is `Error::Corrupt` naming it.
#[tokio::test]
async fn unreadable_sessions_are_skipped_counted_and_take_no_place_in_a_page() {
    let Some((store, schema)) = store(LogLimits::default()).await else {
        return;
    };
    for (id, updated_at) in [("s1", 3), ("s2", 2), ("s3", 1)] {
        store
            .upsert_session(session(id, "wf", None, updated_at))
            .await
            .unwrap();
    }
    schema
        .raw()
        .await
        .execute(
            &format!(
                "UPDATE {}.weft_sessions SET session_state = '{{not json' WHERE session_id = 's2'",
                schema.name
            ),
            &[],
        )
        .await
        .unwrap();
    let ids = |listing: &weft::storage::SessionListing| {
        listing
            .sessions
            .iter()
            .map(|s| s.session_id.clone())
            .collect::<Vec<_>>()
    };
    let all = store
        .list_sessions_counted(Default::default())
        .await
        .unwrap();
    assert_eq!(
        (ids(&all), all.skipped),
        (vec!["s1".into(), "s3".into()], 1)
    );
    let page = store
        .list_sessions_counted(weft::SessionFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (ids(&page), page.skipped),
        (vec!["s1".into(), "s3".into()], 1)
    );
    let err = store.read_session("s2").await.unwrap_err();
    assert!(
        matches!(&err, weft::Error::Corrupt { key, .. } if key.contains("s2")),
        "{err:?}"
    );
}

/// Without `.schema(..)`, the tables go in the connection's default schema (here set by the
/// URL's `options`, as a deployment may), migrated once, and work there.
#[tokio::test]
async fn without_a_schema_setting_the_tables_go_in_the_default_schema() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let raw = schema.raw().await;
    raw.batch_execute(&format!("CREATE SCHEMA {}", schema.name))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let with_path = format!("{url}{separator}options=-c%20search_path%3D{}", schema.name);
    for _ in 0..2 {
        let store = PostgresStorage::connect(&with_path).await.unwrap();
        assert_eq!(store.schema(), None);
        store
            .upsert_session(session(&fresh_name(), "wf", None, 1))
            .await
            .unwrap();
    }
    assert_eq!(versions(&raw, &schema.name).await, all_versions());
    assert!(tables(&raw, &schema.name)
        .await
        .contains(&"weft_sessions".to_string()));
    let count: i64 = raw
        .query_one(
            &format!("SELECT count(*) FROM {}.weft_sessions", schema.name),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
}

/// The version-1 schema, as weft-postgres created it before `weft_delete_session`.
const SCHEMA_V1: &str = include_str!("../../crates/weft-postgres/src/migrations/0001_init.sql");

/// weft's tables, each with how many rows it holds.
async fn row_counts(raw: &tokio_postgres::Client, schema: &str) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "weft_sessions",
        "weft_runs",
        "weft_events",
        "weft_journal",
        "weft_log_heads",
        "weft_claims",
    ] {
        let count: i64 = raw
            .query_one(&format!("SELECT count(*) FROM {schema}.{table}"), &[])
            .await
            .unwrap()
            .get(0);
        counts.push((table, count));
    }
    counts
}

/// Every table empty.
fn nothing() -> Vec<(&'static str, i64)> {
    [
        "weft_sessions",
        "weft_runs",
        "weft_events",
        "weft_journal",
        "weft_log_heads",
        "weft_claims",
    ]
    .into_iter()
    .map(|table| (table, 0))
    .collect()
}

/// Item `seq` of run `run_id`'s log.
fn logged(run_id: &str, seq: u64) -> LoggedEvent {
    let mut item = RunResponse::text(format!("delta {seq}"));
    item.run_id = run_id.into();
    item.seq = Some(seq);
    LoggedEvent {
        seq,
        identity: format!("item:{seq}#0"),
        item,
    }
}

/// Waits until a connection named `name` (`Schema::url_named`) waits for a lock (failing
/// after 60 s: a hang, not a slow machine).
async fn until_waiting_for_a_lock(raw: &tokio_postgres::Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = raw
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no connection of {name} waits for a lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `SELECT <what> FROM pg_stat_activity` for the connections named `name`, counted.
async fn count_backends(raw: &tokio_postgres::Client, what: &str, name: &str) -> i64 {
    raw.query_one(
        &format!("SELECT count(*) FROM (SELECT {what} FROM pg_stat_activity WHERE application_name = $1) t"),
        &[&name],
    )
    .await
    .unwrap()
    .get(0)
}

/// `weft_append_log` called by hand: the items `seqs` of run `run_id` with token `fence`.
async fn append_by_hand(
    client: &impl tokio_postgres::GenericClient,
    run_id: &str,
    fence: u64,
    seqs: std::ops::RangeInclusive<u64>,
) -> i32 {
    let events: Vec<LoggedEvent> = seqs.map(|seq| logged(run_id, seq)).collect();
    let min_last = events[0].seq as i64 - 1;
    let numbers: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
    let identities: Vec<String> = events.iter().map(|e| e.identity.clone()).collect();
    let json: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let none: Vec<String> = Vec::new();
    client
        .query_one(
            "SELECT o_outcome FROM weft_append_log($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &run_id,
                &(fence as i64),
                &min_last,
                &numbers,
                &identities,
                &json,
                &none,
                &none,
            ],
        )
        .await
        .unwrap()
        .get(0)
}

/// `weft_put_run` called by hand: null when written, else the run's current token.
async fn put_by_hand(
    client: &impl tokio_postgres::GenericClient,
    record: &RunRecord,
) -> Option<i64> {
    client
        .query_one(
            "SELECT weft_put_run($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &record.run_id,
                &(record.fence as i64),
                &record.session_id,
                &record.workflow_id,
                &record.status.as_str(),
                &(record.created_at as i64),
                &(record.updated_at as i64),
                &serde_json::to_string(record).unwrap(),
            ],
        )
        .await
        .unwrap()
        .get(0)
}

/// `delete_session` while a worker's write of one of the session's runs is in flight (its
/// transaction open, holding the run's claim, with log items the delete's first snapshot
/// cannot see): the delete waits for it, the worker's next statement in that transaction (its
/// run record: claim, then run row) is not a deadlock, and once both commit nothing of the
/// session is left, the items the worker committed included. The worker's writes after that
/// are `Fenced`: its claim went with the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_session_waits_for_a_write_in_flight_and_leaves_nothing_of_it() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let store = PostgresStorage::builder(&schema.url_named())
        .schema(&schema.name)
        .connect()
        .await
        .unwrap();
    let claim = store
        .claim_run("r", "worker", Some(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap();
    let fence = claim.fence;
    let mut record = run("r", "s", RunStatus::Running);
    record.fence = fence;
    store
        .upsert_session_for_run(session("s", "wf", None, 1), "r", fence)
        .await
        .unwrap();
    store.put_run(record.clone()).await.unwrap();
    store
        .append_log("r", fence, vec![logged("r", 1)], Vec::new())
        .await
        .unwrap();

    // The worker's next writes, in a transaction still open.
    let mut worker = schema.raw_in().await;
    let tx = worker.transaction().await.unwrap();
    assert_eq!(append_by_hand(&tx, "r", fence, 2..=3).await, 0, "appended");

    let deleting = tokio::spawn({
        let store = store.clone();
        async move { store.delete_session("s").await }
    });
    let observer = schema.raw().await;
    until_waiting_for_a_lock(&observer, &schema.name).await;
    assert!(!deleting.is_finished(), "the delete waits for the write");
    // With the runs locked before the claims, this deadlocked with the delete.
    record.last_seq = 3;
    assert_eq!(put_by_hand(&tx, &record).await, None, "written");
    tx.commit().await.unwrap();
    let deleted = tokio::time::timeout(Duration::from_secs(60), deleting)
        .await
        .expect("the delete goes on once the write committed")
        .unwrap()
        .unwrap();
    assert!(deleted, "the session existed");
    assert_eq!(
        row_counts(&observer, &schema.name).await,
        nothing(),
        "nothing of the session, the committed items included"
    );

    // The worker carries on: refused, its claim is gone.
    for result in [
        store
            .append_log("r", fence, vec![logged("r", 4)], Vec::new())
            .await,
        store
            .append_log("r", fence, vec![logged("r", 1)], Vec::new())
            .await,
        store.put_run(record.clone()).await,
    ] {
        assert!(
            matches!(result, Err(weft::Error::Fenced { current: 0, .. })),
            "{result:?}"
        );
    }
    assert_eq!(put_by_hand(&schema.raw_in().await, &record).await, Some(0));
    assert_eq!(row_counts(&observer, &schema.name).await, nothing());
}

/// Workers writing the runs of a session (items and run records, each its own transaction,
/// claim then log head or run row) while the session is deleted: no deadlock, no other error
/// than `Fenced` (claim gone) for the writes after the delete, and nothing left of the
/// session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_session_while_its_runs_write_never_deadlocks_and_leaves_nothing() {
    let Some((store, schema)) = store(LogLimits::default()).await else {
        return;
    };
    store
        .upsert_session(session("s", "wf", None, 1))
        .await
        .unwrap();
    let mut workers = Vec::new();
    for n in 0..6 {
        let run_id = format!("r{n}");
        let claim = store
            .claim_run(&run_id, "worker", Some(Duration::from_secs(60)))
            .await
            .unwrap()
            .unwrap();
        let mut record = run(&run_id, "s", RunStatus::Running);
        record.fence = claim.fence;
        store.put_run(record.clone()).await.unwrap();
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            for seq in 1..=1_000_000u64 {
                let appended = store
                    .append_log(
                        &record.run_id,
                        record.fence,
                        vec![logged(&record.run_id, seq)],
                        Vec::new(),
                    )
                    .await;
                let written = match appended {
                    Ok(()) => {
                        record.last_seq = seq;
                        store.put_run(record.clone()).await
                    }
                    Err(err) => Err(err),
                };
                match written {
                    Ok(()) => {}
                    Err(weft::Error::Fenced { current: 0, .. }) => return seq,
                    Err(other) => panic!("{}: {other:?}", record.run_id),
                }
            }
            panic!("{}: never refused", record.run_id)
        }));
    }
    // Every worker is under way (failing after 60 s: a hang, not a slow machine).
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in 0..6 {
        while store.log_head(&format!("r{n}")).await.unwrap().last_seq < 3 {
            assert!(Instant::now() < deadline, "r{n} does not write");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(store.delete_session("s").await.unwrap());
    for worker in workers {
        let refused_at = tokio::time::timeout(Duration::from_secs(60), worker)
            .await
            .expect("every worker is refused, none hangs")
            .unwrap();
        assert!(refused_at > 3, "{refused_at}");
    }
    assert_eq!(
        row_counts(&schema.raw().await, &schema.name).await,
        nothing()
    );
}

/// A database at schema version 1 (before `weft_delete_session`) is brought to this weft's
/// version when a store connects, its data kept, and deleting a session then works.
#[tokio::test]
async fn a_version_1_schema_is_migrated_to_the_current_version() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let name = &schema.name;
    let raw = schema.raw().await;
    raw.batch_execute(&format!(
        "CREATE SCHEMA {name}; SET search_path TO {name};
         {SCHEMA_V1}
         CREATE TABLE weft_schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO weft_schema_version (version, name) VALUES (1, 'init');
         INSERT INTO weft_sessions VALUES ('old', 'wf', 'wf', NULL, NULL, '{{\"n\": 1}}', 1, 1, 1);
         RESET search_path;"
    ))
    .await
    .unwrap();
    assert_eq!(versions(&raw, name).await, [1]);

    let store = schema.connect(LogLimits::default()).await;
    assert_eq!(versions(&raw, name).await, all_versions());
    assert_eq!(all_versions().last(), Some(&weft_postgres::SCHEMA_VERSION));
    let old = store.read_session("old").await.unwrap().unwrap();
    assert_eq!(
        (old.version, old.session_state.clone()),
        (1, serde_json::json!({"n": 1}))
    );
    store
        .put_run(run("old-run", "old", RunStatus::Completed))
        .await
        .unwrap();
    store
        .append_log("old-run", 0, vec![logged("old-run", 1)], Vec::new())
        .await
        .unwrap();
    assert!(store.delete_session("old").await.unwrap());
    assert!(!store.delete_session("old").await.unwrap());
    assert_eq!(row_counts(&raw, name).await, nothing());
}

/// A lease out of 100 ms ..= 1 day is refused by `connect` with `Error::Config` naming the
/// range (before anything is opened); the bounds themselves are taken. The store's
/// `claim_run` still takes any lease, zero included (its callers' business).
#[tokio::test]
async fn a_lease_out_of_range_is_refused_at_connect() {
    for lease in [
        Duration::ZERO,
        Duration::from_millis(99),
        weft_postgres::MAX_LEASE + Duration::from_millis(1),
    ] {
        let err = PostgresStorage::builder("postgres://weft@127.0.0.1:1/db")
            .lease(lease)
            .connect()
            .await
            .unwrap_err();
        match err {
            weft::Error::Config(message) => {
                assert!(message.contains("between 100 ms and 1 day"), "{message}")
            }
            other => panic!("{lease:?}: {other:?}"),
        }
    }
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    for lease in [weft_postgres::MIN_LEASE, weft_postgres::MAX_LEASE] {
        let store = PostgresStorage::builder(&url)
            .schema(&schema.name)
            .lease(lease)
            .connect()
            .await
            .unwrap();
        assert_eq!(store.lease(), Some(lease));
    }
    let store = schema.connect(LogLimits::default()).await;
    let zero = store
        .claim_run("r", "w", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    let next = store.claim_run("r", "w", None).await.unwrap().unwrap();
    assert!(next.fence > zero.fence);
}

/// A pool whose every connection is busy (here its one connection, held by a call waiting
/// for a lock) makes the next call fail after `pool_wait_timeout` with an `Error::Storage`
/// saying so, instead of waiting for ever; the store works again once a connection is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_pool_is_a_clear_error_after_the_wait_timeout() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let store = PostgresStorage::builder(&schema.url_named())
        .schema(&schema.name)
        .pool_size(1)
        .pool_wait_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let claim = store.claim_run("r", "w", None).await.unwrap().unwrap();
    let mut locker = schema.raw_in().await;
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM weft_claims WHERE run_id = 'r' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    let held = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .append_log("r", claim.fence, vec![logged("r", 1)], Vec::new())
                .await
        }
    });
    until_waiting_for_a_lock(&schema.raw().await, &schema.name).await;

    let started = Instant::now();
    let err = store.read_session("s").await.unwrap_err();
    let elapsed = started.elapsed();
    let message = err.to_string();
    assert!(matches!(err, weft::Error::Storage { .. }), "{err:?}");
    assert!(
        message.contains("no free connection")
            && message.contains("read session `s`")
            && message.contains("pool_size"),
        "{message}"
    );
    assert!(
        // Not before the wait timeout; the upper bound only tells "gave up" from "hung".
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(60),
        "{elapsed:?}"
    );
    tx.rollback().await.unwrap();
    held.await.unwrap().unwrap();
    assert!(store.read_session("s").await.unwrap().is_none());
}

/// A claim whose worker failed before the run's first record (a claim row, no run row) is
/// never listed by `interrupted_runs`, lapsed or not: there is no run to resume.
#[tokio::test]
async fn interrupted_runs_never_lists_a_claim_without_a_run_record() {
    let Some((store, _schema)) = store(LogLimits::default()).await else {
        return;
    };
    store
        .claim_run("lapsed-only", "dead-worker", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    store
        .claim_run("held-only", "live-worker", None)
        .await
        .unwrap()
        .unwrap();
    let lapsed = store
        .claim_run("lapsed-run", "dead-worker", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    let mut record = run("lapsed-run", "s", RunStatus::Running);
    record.fence = lapsed.fence;
    store.put_run(record).await.unwrap();
    let listed: Vec<String> = store
        .interrupted_runs(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(listed, ["lapsed-run"]);
}

/// PostgreSQL's appends are durable at commit: `reserve_seqs` answers `u64::MAX` (every seq
/// covered, so the log writer asks once per run, not once per item), writes nothing
/// (`log_head` shows no reservation, the log goes on right after its last item) and still
/// refuses a stale token.
#[tokio::test]
async fn reserve_seqs_covers_every_seq_at_once_and_is_still_fenced() {
    let Some((store, _schema)) = store(LogLimits::default()).await else {
        return;
    };
    let old = store
        .claim_run("r", "a", Some(Duration::ZERO))
        .await
        .unwrap()
        .unwrap();
    let claim = store.claim_run("r", "b", None).await.unwrap().unwrap();
    store
        .append_log("r", claim.fence, vec![logged("r", 1)], Vec::new())
        .await
        .unwrap();
    assert_eq!(
        store.reserve_seqs("r", claim.fence, 1).await.unwrap(),
        u64::MAX
    );
    assert_eq!(
        store.log_head("r").await.unwrap(),
        LogHead {
            last_seq: 1,
            reserved_seq: 0
        }
    );
    store
        .append_log("r", claim.fence, vec![logged("r", 2)], Vec::new())
        .await
        .unwrap();
    let stale = store.reserve_seqs("r", old.fence, 3).await;
    assert!(
        matches!(stale, Err(weft::Error::Fenced { fence, current, .. }) if fence == old.fence && current == claim.fence),
        "{stale:?}"
    );
}

/// The blocking worker's connection killed by the server (a restart, an administrator, an
/// idle timeout): the next save finds it out before sending anything, and is done on a new
/// connection, once.
#[test]
fn the_blocking_worker_reconnects_when_the_server_closed_its_connection() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = url() else { return };
    let schema = Schema::new(&url);
    let store = runtime
        .block_on(
            PostgresStorage::builder(&schema.url_named())
                .schema(&schema.name)
                .connect(),
        )
        .unwrap();
    let claim = runtime
        .block_on(store.claim_run("r", "w", None))
        .unwrap()
        .unwrap();
    let mut record = run("r", "s", RunStatus::Running);
    record.fence = claim.fence;
    let saved = store
        .save_blocking(Some(session("s", "wf", None, 1)), record.clone())
        .unwrap()
        .unwrap();
    runtime.block_on(async {
        let raw = schema.raw().await;
        let killed = count_backends(&raw, "pg_terminate_backend(pid)", &schema.name).await;
        assert!(killed >= 1, "{killed}");
        // The server closes the connections a moment after it was told to: wait until it has.
        let deadline = Instant::now() + Duration::from_secs(60);
        while count_backends(&raw, "pid", &schema.name).await > 0 {
            assert!(Instant::now() < deadline, "the backend was not terminated");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    record.content = "after the restart".into();
    let again = store
        .save_blocking(Some(saved.clone()), record.clone())
        .unwrap()
        .unwrap();
    assert_eq!(again.version, 2);
    assert_eq!(store.read_session_blocking("s").unwrap(), Some(again));
    drop(runtime);
    drop(schema);
}

/// A cancel asked through the store marks the run's live claim only: its worker (with the
/// claim's token) sees it, a stale token does not, a new claim starts without it, and a run
/// no live claim holds cannot be asked.
#[tokio::test]
async fn a_cancel_request_marks_the_live_claim_only() {
    let Some((store, _schema)) = store(LogLimits::default()).await else {
        return;
    };
    assert!(!store.request_cancel("r").await.unwrap(), "never claimed");
    let first = store.claim_run("r", "a", None).await.unwrap().unwrap();
    assert!(!store.cancel_requested("r", first.fence).await.unwrap());
    assert!(store.request_cancel("r").await.unwrap());
    assert!(store.cancel_requested("r", first.fence).await.unwrap());
    assert!(!store.cancel_requested("r", first.fence + 1).await.unwrap());

    // The claim lapses (a zero-lease renewal: no clock), another worker takes the run over:
    // the old request was for the old claim.
    store
        .renew_claim("r", first.fence, Some(Duration::ZERO))
        .await
        .unwrap();
    assert!(!store.request_cancel("r").await.unwrap(), "no live claim");
    let second = store.claim_run("r", "b", None).await.unwrap().unwrap();
    assert!(!store.cancel_requested("r", second.fence).await.unwrap());
    assert!(!store.cancel_requested("r", first.fence).await.unwrap());
}

/// `url` with `sslmode=<mode>` appended (after `?` or `&`).
fn with_sslmode(url: &str, mode: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode={mode}")
}

/// How many connections named `name` there are, and how many of them are encrypted.
async fn encrypted_backends(raw: &tokio_postgres::Client, name: &str) -> (i64, i64) {
    let row = raw
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1",
            &[&name],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Whether the test server takes TLS at all (`ssl = on`; Debian's default, with its
/// self-signed certificate). The TLS tests say so and check only the plain modes without it.
async fn server_has_tls(url: &str) -> bool {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        eprintln!("the test server has ssl = {ssl}: the TLS checks are skipped (set ssl = on to run them)");
    }
    ssl == "on"
}

/// `sslmode=require` encrypts every connection of the store (the pool's and the blocking
/// worker's); `disable`, `prefer` and no `sslmode` at all are plain TCP.
#[tokio::test]
async fn sslmode_require_encrypts_every_connection_and_the_others_do_not() {
    let Some(url) = url() else { return };
    let tls = server_has_tls(&url).await;
    for (mode, encrypted) in [
        (Some("require"), true),
        (Some("disable"), false),
        (Some("prefer"), false),
        (None, false),
    ] {
        if encrypted && !tls {
            continue;
        }
        let schema = Schema::new(&url);
        let store_url = match mode {
            Some(mode) => with_sslmode(&schema.url_named(), mode),
            None => schema.url_named(),
        };
        let store = PostgresStorage::builder(&store_url)
            .schema(&schema.name)
            .connect()
            .await
            .unwrap();
        assert_eq!(store.read_session("s").await.unwrap(), None);
        // The blocking worker's connection too.
        assert_eq!(store.read_session_blocking("s").unwrap(), None);
        let raw = schema.raw().await;
        let (connections, tls) = encrypted_backends(&raw, &schema.name).await;
        assert!(connections >= 2, "{mode:?}: {connections}");
        let expected = if encrypted { connections } else { 0 };
        assert_eq!(tls, expected, "{mode:?}: {tls} of {connections} encrypted");
        drop(store);
    }
}

/// `verify-full` and `verify-ca` against a certificate no webpki root vouches for (the
/// test server's self-signed one) are refused with a clear `Error::Storage`, without the
/// password.
#[tokio::test]
async fn a_certificate_that_does_not_verify_is_a_clear_error() {
    let Some(url) = url() else { return };
    let config: tokio_postgres::Config = url.parse().unwrap();
    let modes: &[&str] = if server_has_tls(&url).await {
        &["verify-full", "verify-ca"]
    } else {
        &[]
    };
    for mode in modes {
        let err = PostgresStorage::builder(&with_sslmode(&url, mode))
            .schema(fresh_name())
            .connect()
            .await
            .unwrap_err();
        let (shown, debug) = (err.to_string(), format!("{err:?}"));
        assert!(matches!(err, weft::Error::Storage { .. }), "{debug}");
        assert!(
            shown.contains("the server's TLS certificate was not accepted")
                && shown.contains("sslmode=require")
                && shown.contains("root_certificates_pem"),
            "{shown}"
        );
        if let Some(password) = config.get_password() {
            let password = format!(":{}@", String::from_utf8_lossy(password));
            assert!(
                !shown.contains(&password) && !debug.contains(&password),
                "{shown}"
            );
        }
    }
    let err = PostgresStorage::builder(&with_sslmode(&url, "verify-full"))
        .root_certificates_pem("not a certificate")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, weft::Error::Config(_)), "{err:?}");
}

/// The server's own certificate given as a root (when this host's test server uses Debian's
/// self-signed "snakeoil" one, for `localhost`): `verify-ca` takes it whatever the host name,
/// `verify-full` only under the name it was made for.
#[tokio::test]
async fn a_root_given_as_pem_verifies_the_certificate() {
    let Some(url) = url() else { return };
    let Ok(pem) = std::fs::read("/etc/ssl/certs/ssl-cert-snakeoil.pem") else {
        return;
    };
    if !url.contains("@127.0.0.1:") || !server_has_tls(&url).await {
        return;
    }
    let connect = |url: String| {
        let pem = pem.clone();
        async move {
            let schema = Schema::new(&url);
            let connected = PostgresStorage::builder(&url)
                .schema(&schema.name)
                .root_certificates_pem(pem)
                .connect()
                .await;
            (connected, schema)
        }
    };
    let (connected, _schema) = connect(with_sslmode(&url, "verify-ca")).await;
    if let Err(err) = &connected {
        if err.to_string().contains("not accepted") {
            // Not the snakeoil certificate this test expects: nothing to check here.
            return;
        }
    }
    connected.unwrap();
    let (connected, _schema) = connect(with_sslmode(&url, "verify-full")).await;
    let err = connected.unwrap_err().to_string();
    assert!(err.contains("not accepted"), "{err}");
    // Under a name the certificate was made for, it verifies. (Debian's snakeoil certificate
    // names the machine's host name, and on some images `localhost` too: only the names it
    // holds are checked.)
    let names = certificate_names(&pem);
    for name in ["localhost"]
        .into_iter()
        .filter(|name| names.iter().any(|n| n == name))
    {
        let named = url.replace("@127.0.0.1:", &format!("@{name}:"));
        let (connected, _schema) = connect(with_sslmode(&named, "verify-full")).await;
        connected.unwrap();
    }
}

/// The DNS names a PEM certificate holds, as `openssl x509 -ext subjectAltName` prints them
/// (none when openssl is missing).
fn certificate_names(pem: &[u8]) -> Vec<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(pem);
    }
    let Ok(output) = child.wait_with_output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|part| part.strip_prefix("DNS:"))
        .map(str::to_string)
        .collect()
}
