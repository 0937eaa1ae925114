//! The `WorkflowStorage` contract, run against every store: each check is one generic
//! function, called from a test per store (`conformance!`): memory, sled (two durability
//! modes) and PostgreSQL (when `WEFT_TEST_POSTGRES_URL` names a database; each test in a
//! schema of its own). The event log and journal checks are here; sessions and runs in
//! `sessions_and_runs`, claims and fencing in `claims`.

mod claims;
mod sessions_and_runs;

use serde_json::json;
use weft::storage::{JournalEntry, JournalKind, LogHead, LogLimits, LoggedEvent};
use weft::{MemoryStorage, RunResponse, RunStatus, SledStorage, StorageRef, WorkflowStorage};

use crate::fixtures::*;

/// A store under test, and what it lives in: a directory (sled), a schema (Postgres), both
/// removed after the store is dropped.
struct Store {
    store: StorageRef,
    _dir: Option<TempDir>,
    _schema: Option<crate::postgres::Schema>,
}

async fn memory(limits: LogLimits) -> Option<Store> {
    Some(Store {
        store: std::sync::Arc::new(MemoryStorage::with_log_limits(limits)),
        _dir: None,
        _schema: None,
    })
}

async fn sled(limits: LogLimits) -> Option<Store> {
    let dir = TempDir::new("conformance");
    let store = SledStorage::builder(dir.db())
        .log_limits(limits)
        .open()
        .unwrap();
    Some(Store {
        store: std::sync::Arc::new(store),
        _dir: Some(dir),
        _schema: None,
    })
}

/// A PostgreSQL store in a fresh schema; `None` (the test is skipped, saying so) when
/// `WEFT_TEST_POSTGRES_URL` is not set.
async fn postgres(limits: LogLimits) -> Option<Store> {
    let (store, schema) = crate::postgres::store(limits).await?;
    Some(Store {
        store: std::sync::Arc::new(store),
        _dir: None,
        _schema: Some(schema),
    })
}

fn item(run_id: &str, seq: u64) -> LoggedEvent {
    let mut item = RunResponse::text(format!("delta {seq}"));
    item.run_id = run_id.into();
    item.seq = Some(seq);
    item.created_at = seq;
    LoggedEvent {
        seq,
        identity: format!("turn:model:a:h:1#{seq}"),
        item,
    }
}

fn items(run_id: &str, seqs: std::ops::RangeInclusive<u64>) -> Vec<LoggedEvent> {
    seqs.map(|seq| item(run_id, seq)).collect()
}

fn entry(key: &str, seqs: Vec<u64>) -> JournalEntry {
    JournalEntry {
        key: key.into(),
        kind: JournalKind::ToolCall,
        output: json!({"result": key}),
        seqs,
        created_at: 1,
    }
}

fn seqs(events: &[LoggedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn everything(
    store: &dyn WorkflowStorage,
    run_id: &str,
) -> (Vec<LoggedEvent>, Vec<JournalEntry>) {
    (
        store.read_events(run_id, 0, usize::MAX).await.unwrap(),
        store.read_journal(run_id).await.unwrap(),
    )
}

/// Appends continue the log; reads return what follows a cursor, a page at a time, and the
/// items come back as they were written.
async fn append_and_read_after_in_pages(store: &dyn WorkflowStorage) {
    store
        .append_log("r", 0, items("r", 1..=3), Vec::new())
        .await
        .unwrap();
    store
        .append_log("r", 0, items("r", 4..=7), Vec::new())
        .await
        .unwrap();
    store
        .append_log("other", 0, items("other", 1..=2), Vec::new())
        .await
        .unwrap();
    store
        .append_log("r", 0, Vec::new(), Vec::new())
        .await
        .unwrap();

    let all = store.read_events("r", 0, 100).await.unwrap();
    assert_eq!(all, items("r", 1..=7), "read back as written");
    assert_eq!(
        seqs(&store.read_events("r", 2, 3).await.unwrap()),
        [3, 4, 5]
    );
    assert_eq!(seqs(&store.read_events("r", 5, 100).await.unwrap()), [6, 7]);
    assert!(store.read_events("r", 7, 100).await.unwrap().is_empty());
    assert!(store
        .read_events("r", u64::MAX, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store.read_events("r", 0, 0).await.unwrap().is_empty());
    assert!(store
        .read_events("unknown", 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        seqs(&store.read_events("other", 0, 10).await.unwrap()),
        [1, 2]
    );

    // Paging from the last seq seen walks the whole log once.
    let mut cursor = 0;
    let mut paged = Vec::new();
    loop {
        let page = store.read_events("r", cursor, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().unwrap().seq;
        paged.extend(page);
    }
    assert_eq!(paged, all);
}

/// A batch that leaves a gap, overlaps the log or disagrees with its items' `seq` is refused
/// whole.
async fn gaps_and_overlaps_are_refused_whole(store: &dyn WorkflowStorage) {
    let refused = |result: weft::Result<()>, case: &str| {
        assert!(
            matches!(&result, Err(weft::Error::Storage { message, .. }) if message.contains("refused an append")),
            "{case}: {result:?}"
        );
    };
    refused(
        store
            .append_log("r", 0, items("r", 2..=3), Vec::new())
            .await,
        "first seq 2",
    );
    store
        .append_log("r", 0, items("r", 1..=3), Vec::new())
        .await
        .unwrap();
    let before = everything(store, "r").await;
    refused(
        store
            .append_log("r", 0, items("r", 5..=6), Vec::new())
            .await,
        "gap",
    );
    refused(
        store
            .append_log("r", 0, items("r", 3..=4), Vec::new())
            .await,
        "overlap",
    );
    refused(
        store
            .append_log("r", 0, vec![item("r", 4), item("r", 6)], Vec::new())
            .await,
        "gap inside the batch",
    );
    let mut odd = item("r", 4);
    odd.item.seq = Some(5);
    refused(
        store.append_log("r", 0, vec![odd], Vec::new()).await,
        "item.seq differs",
    );
    assert_eq!(
        everything(store, "r").await,
        before,
        "nothing of a refused batch"
    );
    store
        .append_log("r", 0, items("r", 4..=4), Vec::new())
        .await
        .unwrap();
}

/// `reserve_seqs` covers at least the seq asked for, and `log_head` reads it back: a store
/// that writes a reservation keeps it (monotone, written only when the seq is above it); one
/// whose appends are all durable writes none, and may answer any `r >= seq` (memory and sled's
/// `EveryEvent` answer `seq`, PostgreSQL `u64::MAX`: no crash loses an item, so every seq is
/// covered), while its log still continues right after its last item, never above `r`.
async fn reservations_cover_the_seqs_asked_for(store: &dyn WorkflowStorage) {
    assert_eq!(store.log_head("r").await.unwrap(), LogHead::default());
    store
        .append_log("r", 0, items("r", 1..=3), Vec::new())
        .await
        .unwrap();
    let reserved = store.reserve_seqs("r", 0, 3).await.unwrap();
    assert!(reserved >= 3, "{reserved}");
    let head = store.log_head("r").await.unwrap();
    assert_eq!(head.last_seq, 3);
    if head.reserved_seq == 0 {
        // Nothing written: every append is durable, no seq can be given twice, whatever the
        // answer (at least the seq asked for).
        assert!(store.reserve_seqs("r", 0, 2).await.unwrap() >= 2);
        assert_eq!(store.log_head("r").await.unwrap().reserved_seq, 0);
        // The log goes on right after its last item, not after the answer.
        store
            .append_log("r", 0, items("r", 4..=4), Vec::new())
            .await
            .unwrap();
        assert!(store.reserve_seqs("r", 0, 4).await.unwrap() >= 4);
        assert_eq!(
            store.log_head("r").await.unwrap(),
            LogHead {
                last_seq: 4,
                reserved_seq: 0
            }
        );
        return;
    }
    assert_eq!(head.reserved_seq, reserved);
    // Covered already: nothing moves.
    assert_eq!(store.reserve_seqs("r", 0, 1).await.unwrap(), reserved);
    assert_eq!(
        store.reserve_seqs("r", 0, reserved).await.unwrap(),
        reserved
    );
    assert_eq!(store.log_head("r").await.unwrap(), head);
    // Above it: a new block.
    let next = store.reserve_seqs("r", 0, reserved + 1).await.unwrap();
    assert!(next > reserved, "{next} after {reserved}");
    assert_eq!(store.log_head("r").await.unwrap().reserved_seq, next);
    // Appends go on as before within the reservation, and keep it.
    store
        .append_log("r", 0, items("r", 4..=5), Vec::new())
        .await
        .unwrap();
    assert_eq!(
        store.log_head("r").await.unwrap(),
        LogHead {
            last_seq: 5,
            reserved_seq: next
        }
    );
    // Another run's reservation is its own.
    assert_eq!(store.log_head("other").await.unwrap(), LogHead::default());
}

/// While a run's reservation is above its last seq (a crash lost items a client may have
/// seen), the log may jump once to the reservation + 1; any other jump is refused whole, as
/// is a journal entry naming a seq inside the jump. A store that never reserves allows no jump.
async fn the_log_jumps_only_right_above_the_reservation(store: &dyn WorkflowStorage) {
    let refused = |result: weft::Result<()>, case: &str| {
        assert!(
            matches!(&result, Err(weft::Error::Storage { message, .. }) if message.contains("refused an append")),
            "{case}: {result:?}"
        );
    };
    store
        .append_log("r", 0, items("r", 1..=3), Vec::new())
        .await
        .unwrap();
    // Reserved ahead of the log, as a writer that showed seq 4 whose append was then lost.
    let reserved = store.reserve_seqs("r", 0, 4).await.unwrap();
    assert!(reserved >= 4, "{reserved}");
    let head = store.log_head("r").await.unwrap();
    let before = everything(store, "r").await;
    refused(
        store
            .append_log("r", 0, items("r", 5..=5), Vec::new())
            .await,
        "a jump below the reservation",
    );
    if head.reserved_seq <= head.last_seq {
        // No reservation written (the answer may be anything from 4 up, `u64::MAX` even): the
        // log continues at 4, and only there.
        for seq in [6, reserved.saturating_add(1), reserved.saturating_add(2)] {
            if seq > 4 {
                refused(
                    store
                        .append_log("r", 0, items("r", seq..=seq), Vec::new())
                        .await,
                    "a jump without a reservation",
                );
            }
        }
        assert_eq!(everything(store, "r").await, before);
        store
            .append_log("r", 0, items("r", 4..=4), Vec::new())
            .await
            .unwrap();
        return;
    }
    assert_eq!(head.reserved_seq, reserved);
    let jump = reserved + 1;
    refused(
        store
            .append_log("r", 0, items("r", jump + 1..=jump + 1), Vec::new())
            .await,
        "a jump past the reservation + 1",
    );
    refused(
        store
            .append_log(
                "r",
                0,
                items("r", jump..=jump),
                vec![entry("inside", vec![4])],
            )
            .await,
        "a journal entry naming a seq inside the jump",
    );
    assert_eq!(
        everything(store, "r").await,
        before,
        "nothing of a refused batch"
    );
    // The allowed jump, with a journal entry naming items on both sides of it.
    store
        .append_log(
            "r",
            0,
            items("r", jump..=jump + 1),
            vec![entry("across", vec![3, jump, jump + 1])],
        )
        .await
        .unwrap();
    let (events, journal) = everything(store, "r").await;
    assert_eq!(seqs(&events), vec![1, 2, 3, jump, jump + 1]);
    assert_eq!(journal.len(), 1);
    assert_eq!(
        store.log_head("r").await.unwrap(),
        LogHead {
            last_seq: jump + 1,
            reserved_seq: reserved
        }
    );
    // Reads after a cursor step over the jump.
    let after = |seq| async move { seqs(&store.read_events("r", seq, usize::MAX).await.unwrap()) };
    assert_eq!(after(2).await, vec![3, jump, jump + 1]);
    assert_eq!(after(3).await, vec![jump, jump + 1]);
    assert_eq!(after(4).await, vec![jump, jump + 1]);
    assert_eq!(after(jump).await, vec![jump + 1]);
    assert_eq!(
        seqs(&store.read_events("r", 0, 4).await.unwrap()),
        vec![1, 2, 3, jump]
    );
    // Once the log is above the reservation, it is gapless again: no second jump.
    let reserved_again = store.reserve_seqs("r", 0, jump + 1).await.unwrap();
    let before = everything(store, "r").await;
    refused(
        store
            .append_log("r", 0, items("r", jump + 3..=jump + 3), Vec::new())
            .await,
        "a gap after the jump",
    );
    if reserved_again > jump + 1 {
        // A new block: it allows a jump only past its end.
        refused(
            store
                .append_log(
                    "r",
                    0,
                    items("r", reserved_again + 2..=reserved_again + 2),
                    Vec::new(),
                )
                .await,
            "a jump past the new block",
        );
    }
    assert_eq!(everything(store, "r").await, before);
    store
        .append_log("r", 0, items("r", jump + 2..=jump + 2), Vec::new())
        .await
        .unwrap();
}

/// A journal entry must name only items the log holds once the batch is written; else the
/// whole batch (its items too) is refused.
async fn a_journal_entry_without_its_items_is_refused(store: &dyn WorkflowStorage) {
    store
        .append_log("r", 0, items("r", 1..=2), Vec::new())
        .await
        .unwrap();
    let before = everything(store, "r").await;
    for (case, events, journal) in [
        (
            "names a later item",
            vec![],
            vec![entry("tool:a:1", vec![3])],
        ),
        ("names seq 0", vec![], vec![entry("tool:a:1", vec![0])]),
        (
            "names an item past the batch",
            items("r", 3..=3),
            vec![entry("tool:a:1", vec![2, 3, 4])],
        ),
        (
            "second entry bad",
            items("r", 3..=3),
            vec![entry("tool:a:1", vec![3]), entry("tool:b:1", vec![9])],
        ),
    ] {
        let result = store.append_log("r", 0, events, journal).await;
        assert!(
            matches!(result, Err(weft::Error::Storage { .. })),
            "{case}: {result:?}"
        );
        assert_eq!(
            everything(store, "r").await,
            before,
            "{case}: nothing written"
        );
    }
    // Items already logged, or logged in the same batch, may be named; none at all too.
    store
        .append_log("r", 0, Vec::new(), vec![entry("tool:a:1", vec![1, 2])])
        .await
        .unwrap();
    store
        .append_log(
            "r",
            0,
            items("r", 3..=4),
            vec![entry("tool:b:1", vec![2, 4]), entry("step:s:1", vec![])],
        )
        .await
        .unwrap();
    let (events, journal) = everything(store, "r").await;
    assert_eq!(seqs(&events), [1, 2, 3, 4]);
    assert_eq!(journal.len(), 3);
}

/// The journal reads back in the order it was written, not sorted by key, per run.
async fn the_journal_reads_in_written_order(store: &dyn WorkflowStorage) {
    let keys = ["tool:z:1", "model:a:ff:1", "step:m:1", "model:a:00:1"];
    store
        .append_log("r", 0, items("r", 1..=1), vec![entry(keys[0], vec![1])])
        .await
        .unwrap();
    store
        .append_log(
            "r",
            0,
            Vec::new(),
            vec![entry(keys[1], vec![]), entry(keys[2], vec![1])],
        )
        .await
        .unwrap();
    store
        .append_log("other", 0, items("other", 1..=1), vec![entry("x", vec![1])])
        .await
        .unwrap();
    store
        .append_log("r", 0, items("r", 2..=2), vec![entry(keys[3], vec![2])])
        .await
        .unwrap();
    let journal = store.read_journal("r").await.unwrap();
    let read: Vec<&str> = journal.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(read, keys);
    assert_eq!(journal[0], entry(keys[0], vec![1]), "read back as written");
    assert!(store.read_journal("unknown").await.unwrap().is_empty());
}

/// One event or journal entry larger than the store's limit is a typed error naming the
/// limit, and nothing of its batch is written; exactly at the limit is accepted. Both stores
/// measure the record's JSON.
async fn limits_refuse_large_records_whole(store: &dyn WorkflowStorage, limits: LogLimits) {
    let mut big = item("r", 2);
    big.item.content = weft::Content::Text(String::new());
    let base = serde_json::to_vec(&big).unwrap().len();
    big.item.content = weft::Content::Text("x".repeat(limits.max_event_bytes - base));
    assert_eq!(
        serde_json::to_vec(&big).unwrap().len(),
        limits.max_event_bytes
    );
    let mut too_big = big.clone();
    too_big.item.content = weft::Content::Text("x".repeat(limits.max_event_bytes - base + 1));

    let result = store
        .append_log(
            "r",
            0,
            vec![item("r", 1), too_big],
            vec![entry("tool:a:1", vec![1])],
        )
        .await;
    match result {
        Err(weft::Error::LogRecordTooLarge {
            run_id,
            what,
            name,
            size,
            max,
            limit,
        }) => {
            assert_eq!(
                (run_id.as_str(), what, name.as_str(), size, max, limit),
                (
                    "r",
                    "logged event",
                    "seq 2",
                    limits.max_event_bytes + 1,
                    limits.max_event_bytes,
                    "max_event_bytes"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        everything(store, "r").await,
        (Vec::new(), Vec::new()),
        "nothing of the batch"
    );

    let mut large_entry = entry("model:a:h:1", vec![1]);
    large_entry.output = json!("");
    let base = serde_json::to_vec(&large_entry).unwrap().len();
    large_entry.output = json!("y".repeat(limits.max_journal_entry_bytes - base + 1));
    let result = store
        .append_log("r", 0, vec![item("r", 1)], vec![large_entry])
        .await;
    assert!(
        matches!(&result, Err(weft::Error::LogRecordTooLarge { limit: "max_journal_entry_bytes", name, .. }) if name == "model:a:h:1"),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("nothing of it was stored") && message.contains("log_limits"),
        "{message}"
    );
    assert_eq!(
        everything(store, "r").await,
        (Vec::new(), Vec::new()),
        "nothing of the batch"
    );

    store
        .append_log("r", 0, vec![item("r", 1), big], Vec::new())
        .await
        .unwrap();
    assert_eq!(
        store.read_events("r", 0, 10).await.unwrap().len(),
        2,
        "at the limit is fine"
    );
}

const SMALL: LogLimits = LogLimits {
    max_event_bytes: 2_000,
    max_journal_entry_bytes: 1_000,
};

/// A test of one generic check (`module::check`, or a check of this file) on a fresh store
/// made by `$store` (`None`: skipped), with the default limits.
macro_rules! check {
    ($store:ident, $module:ident :: $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let Some(store) = super::$store(LogLimits::default()).await else {
                return;
            };
            super::$module::$name(&*store.store).await;
        }
    };
    ($store:ident, $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let Some(store) = super::$store(LogLimits::default()).await else {
                return;
            };
            super::$name(&*store.store).await;
        }
    };
}

/// One test per check, against the store `$store` makes (`None`: skipped).
macro_rules! conformance {
    ($store:ident) => {
        mod $store {
            use super::*;

            check!($store, append_and_read_after_in_pages);
            check!($store, gaps_and_overlaps_are_refused_whole);
            check!($store, reservations_cover_the_seqs_asked_for);
            check!($store, the_log_jumps_only_right_above_the_reservation);
            check!($store, a_journal_entry_without_its_items_is_refused);
            check!($store, the_journal_reads_in_written_order);

            #[tokio::test]
            async fn limits_refuse_large_records_whole() {
                let Some(store) = super::$store(SMALL).await else {
                    return;
                };
                super::limits_refuse_large_records_whole(&*store.store, SMALL).await;
            }

            #[test]
            fn default_limits_are_one_and_sixteen_mib() {
                let limits = LogLimits::default();
                assert_eq!(
                    (limits.max_event_bytes, limits.max_journal_entry_bytes),
                    (1 << 20, 16 << 20)
                );
            }

            // Sessions and runs.
            check!($store, sessions_and_runs::session_writes_are_compare_and_swap);
            check!($store, sessions_and_runs::sessions_list_by_workflow_and_user_newest_first_with_pagination);
            check!($store, sessions_and_runs::deleting_a_session_deletes_everything_of_it);
            check!($store, sessions_and_runs::runs_list_in_first_put_order_and_are_replaced_in_place);

            /// Agno #7479: concurrent writers on one session, on worker threads.
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn two_writers_on_one_session_lose_nothing() {
                let Some(store) = super::$store(LogLimits::default()).await else {
                    return;
                };
                super::sessions_and_runs::two_writers_on_one_session_lose_nothing(
                    store.store.clone(),
                )
                .await;
            }

            // Claims and fencing.
            check!($store, claims::the_first_claim_has_fence_one_and_a_live_claim_refuses_another);
            check!($store, claims::a_zero_lease_lapses_at_once_and_the_next_claim_gets_the_next_fence);
            check!($store, claims::every_fenced_write_with_a_stale_fence_is_refused_and_writes_nothing);
            check!($store, claims::renewing_with_a_stale_fence_is_fenced);
            check!($store, claims::a_final_run_record_releases_its_claim);
            check!($store, claims::a_worker_paused_past_its_lease_cannot_write_after_its_successor_claimed_the_run);
            check!($store, claims::deleting_a_session_ends_the_claims_of_its_runs);
        }
    };
}

conformance!(memory);
conformance!(sled);
conformance!(postgres);

/// sled's `EveryEvent` store: the conformance checks where nothing is ever reserved.
async fn sled_every_event(limits: LogLimits) -> Option<Store> {
    let dir = TempDir::new("conformance-every-event");
    let store = SledStorage::builder(dir.db())
        .log_limits(limits)
        .durability(weft::Durability::EveryEvent)
        .open()
        .unwrap();
    Some(Store {
        store: std::sync::Arc::new(store),
        _dir: Some(dir),
        _schema: None,
    })
}

conformance!(sled_every_event);

/// sled's default (`EveryStep`) reserves blocks of 64 seqs, and `EveryEvent` (every append
/// flushed) none; the reservation survives a reopen.
#[tokio::test]
async fn sled_reserves_blocks_of_seqs_that_survive_a_reopen() {
    let dir = TempDir::new("reservation");
    {
        let store = SledStorage::open(dir.db()).unwrap();
        store
            .append_log("r", 0, items("r", 1..=1), Vec::new())
            .await
            .unwrap();
        assert_eq!(store.reserve_seqs("r", 0, 1).await.unwrap(), 64);
        assert_eq!(store.reserve_seqs("r", 0, 64).await.unwrap(), 64);
        assert_eq!(store.reserve_seqs("r", 0, 65).await.unwrap(), 128);
    }
    {
        let store = SledStorage::builder(dir.db())
            .durability(weft::Durability::EveryEvent)
            .open()
            .unwrap();
        assert_eq!(
            store.log_head("r").await.unwrap(),
            LogHead {
                last_seq: 1,
                reserved_seq: 128
            },
            "kept across a reopen"
        );
        store
            .append_log("s", 0, items("s", 1..=2), Vec::new())
            .await
            .unwrap();
        assert_eq!(store.reserve_seqs("s", 0, 2).await.unwrap(), 2);
        assert_eq!(store.log_head("s").await.unwrap().reserved_seq, 0);
    }
}

/// What `interrupted_runs` lists, once the runs left running are interrupted: those of the
/// workflow asked for, oldest first, with their records.
async fn lists_interrupted_runs(store: &dyn WorkflowStorage, crashed: &[String]) {
    let all = store.interrupted_runs(None).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.run_id.as_str()).collect();
    let mut expected: Vec<&str> = vec!["old-interrupted"];
    expected.extend(crashed.iter().map(String::as_str));
    expected.push("new-interrupted");
    assert_eq!(ids, expected, "oldest first");
    assert!(all.iter().all(|r| r.status == RunStatus::Interrupted));
    let of_other: Vec<String> = store
        .interrupted_runs(Some("other"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(of_other, ["new-interrupted"]);
    assert!(store
        .interrupted_runs(Some("none"))
        .await
        .unwrap()
        .is_empty());
    // A resumed run (written `running` again) leaves the list.
    let mut resumed = all[0].clone();
    resumed.status = RunStatus::Running;
    store.put_run(resumed).await.unwrap();
    assert_eq!(
        store.interrupted_runs(None).await.unwrap().len(),
        all.len() - 1
    );
}

/// Runs of several statuses around the ones a crash interrupts: created at 1 (interrupted)
/// and `u64::MAX - 1` (another workflow's, interrupted), others not listed.
async fn put_other_runs(store: &dyn WorkflowStorage) {
    let mut old = run("old-interrupted", "s", RunStatus::Interrupted);
    old.created_at = 1;
    let mut new = run("new-interrupted", "s", RunStatus::Interrupted);
    new.workflow_id = "other".into();
    new.created_at = u64::MAX - 1;
    for record in [
        old,
        new,
        run("done", "s", RunStatus::Completed),
        run("failed", "s", RunStatus::Failed),
        run("cancelled", "s", RunStatus::Cancelled),
    ] {
        store.put_run(record).await.unwrap();
    }
}

#[tokio::test]
async fn memory_interrupted_runs_after_a_restart() {
    let store = MemoryStorage::new();
    put_other_runs(&store).await;
    let mut crashed = run("crashed", "s", RunStatus::Running);
    crashed.created_at = 5;
    store.put_run(crashed).await.unwrap();
    assert_eq!(
        store.interrupted_runs(None).await.unwrap().len(),
        2,
        "not yet"
    );
    assert_eq!(store.interrupt_running_runs(), 1, "what a restart does");
    lists_interrupted_runs(&store, &["crashed".to_string()]).await;
}

/// sled: a run left `running` by a child process killed with SIGKILL comes back interrupted
/// and listed, at the next writable open.
#[tokio::test]
async fn sled_interrupted_runs_after_a_process_is_killed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = TempDir::new("interrupted");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-crash-child"))
        .args(["run", dir.db().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if line.unwrap() == "IN_FLIGHT" {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let store = SledStorage::open(dir.db()).unwrap();
    let crashed = store.interrupted_runs(None).await.unwrap();
    assert_eq!(crashed.len(), 1, "{crashed:?}");
    assert_eq!(crashed[0].input, json!("hang"));
    let workflow = crashed[0].workflow_id.clone();
    assert_eq!(
        store.interrupted_runs(Some(&workflow)).await.unwrap().len(),
        1
    );
    let crashed_id = crashed[0].run_id.clone();
    put_other_runs(&store).await;
    lists_interrupted_runs(&store, &[crashed_id]).await;
}
