//! PostgreSQL: the store the generic suite (`conformance`) runs against when
//! `WEFT_TEST_POSTGRES_URL` names a database, each test in a schema of its own; and what only
//! a database shared by many processes has: migrations, the blocking worker thread,
//! connection errors, runs whose claim lapsed listed for a takeover.

use std::time::Duration;

use tokio_postgres::NoTls;
use weft::storage::LogLimits;
use weft::{PostgresStorage, RunStatus, WorkflowStorage};

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
    assert_eq!(versions(&raw, &schema.name).await, [1], "migrated once");
    a.upsert_session(session("s", "wf", None, 1)).await.unwrap();
    assert_eq!(b.read_session("s").await.unwrap().unwrap().version, 1);
    assert_eq!(c.list_sessions(Default::default()).await.unwrap().len(), 1);
    // Connecting again finds nothing to do.
    drop(schema.connect(LogLimits::default()).await);
    assert_eq!(versions(&raw, &schema.name).await, [1]);
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
    assert_eq!(versions(&raw, &schema.name).await, [1]);
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
