//! Key layout of the sled trees (all names carry the store's prefix, default `weft_`):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `sessions` | session id | envelope(`WorkflowSession`) |
//! | `runs` | len-prefixed session id, then a monotonic u64 (big-endian) | envelope(`RunRecord`) |
//! | `run_ids` | run id | the run's key in `runs` |
//! | `running` | a run's key in `runs`, while its status is `running` | empty |
//! | `by_workflow` | len-prefixed workflow id, inverted `updated_at` (u64 BE), session id | empty |
//! | `by_user` | len-prefixed user id, inverted `updated_at` (u64 BE), session id | empty |
//! | `by_time` | len-prefixed `""`, inverted `updated_at` (u64 BE), session id | empty |
//! | `events` | len-prefixed run id, `seq` (u64 BE) | envelope(`LoggedEvent`) |
//! | `journal` | len-prefixed run id, insertion number from 1 (u64 BE) | envelope(`JournalEntry`) |
//! | `log_heads` | run id | the run's last `seq` (as of its last journal entry or reservation: appends of items alone leave it), its journal entry count, then its seq reservation (u64 BE each; a 16-byte head, written before the reservation existed, reserves 0) |
//! | `interrupted` | a run's key in `runs`, while its status is `interrupted` | empty |
//! | `ended` | `updated_at` (u64 BE) of a run written with a final status, run id | empty |
//! | `meta` | `format` | the store's layout version (one byte, see `FORMAT`) |
//!
//! A session's runs list in the order they started (sled's `generate_id` is monotonic across
//! restarts); the indexes list newest first because the timestamp is stored inverted. A run's
//! journal is gapless from 1 up to the count in its `log_heads` entry, and its log's seqs lie
//! between 1 and its events' last key (gapless but for a jump across a crash), so deleting
//! them needs one lookup of that key, no scan. `ended` is kept lazily: an entry whose run has since been deleted or
//! rewritten is dropped when retention meets it.

/// The `meta` key holding the layout version.
pub const FORMAT_KEY: &[u8] = b"format";

/// The layout version this weft writes: 2 = run records without `events`, the event log and
/// journal trees, the `interrupted` and `ended` indexes. A store without it (written by weft
/// 0.1.0, layout 1) is migrated at its first writable open.
pub const FORMAT: u8 = 2;

/// `u32` big-endian length, then the bytes: a prefix no other id can extend.
pub fn len_prefixed(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + id.len());
    key.extend_from_slice(&(id.len() as u32).to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The key of one run of `session_id`.
pub fn run_key(session_id: &str, sequence: u64) -> Vec<u8> {
    let mut key = len_prefixed(session_id);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// An index entry: newest first within one workflow (or user).
pub fn index_key(owner: &str, updated_at: u64, session_id: &str) -> Vec<u8> {
    let mut key = len_prefixed(owner);
    key.extend_from_slice(&(u64::MAX - updated_at).to_be_bytes());
    key.extend_from_slice(session_id.as_bytes());
    key
}

/// The session id at the end of an index key with the given owner prefix length.
pub fn session_of_index(key: &[u8], prefix_len: usize) -> String {
    String::from_utf8_lossy(key.get(prefix_len + 8..).unwrap_or_default()).into_owned()
}

/// Whether an index key (of any owner) ends with `session_id`'s entry.
pub fn index_names_session(key: &[u8], session_id: &str) -> bool {
    let owner_len = key
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(usize::MAX, |b: [u8; 4]| u32::from_be_bytes(b) as usize);
    owner_len
        .checked_add(4 + 8)
        .and_then(|start| key.get(start..))
        .is_some_and(|id| id == session_id.as_bytes())
}

/// The key of item `seq` of a run's event log (or of entry `number` of its journal).
pub fn log_key(run_id: &str, seq: u64) -> Vec<u8> {
    let mut key = len_prefixed(run_id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// A run's `log_heads` entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// The run's last `seq`.
    pub last: u64,
    /// How many journal entries it has.
    pub count: u64,
    /// Its durable seq reservation (`WorkflowStorage::reserve_seqs`).
    pub reserved: u64,
}

/// A `log_heads` value.
pub fn head_value(head: Head) -> [u8; 24] {
    let mut value = [0; 24];
    value[..8].copy_from_slice(&head.last.to_be_bytes());
    value[8..16].copy_from_slice(&head.count.to_be_bytes());
    value[16..].copy_from_slice(&head.reserved.to_be_bytes());
    value
}

/// Reads a `log_heads` value: 24 bytes, or 16 (written before reservations: none); `None`
/// otherwise.
pub fn parse_head(value: &[u8]) -> Option<Head> {
    let word = |at: usize| -> Option<u64> {
        let bytes: [u8; 8] = value.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    };
    match value.len() {
        16 => Some(Head {
            last: word(0)?,
            count: word(8)?,
            reserved: 0,
        }),
        24 => Some(Head {
            last: word(0)?,
            count: word(8)?,
            reserved: word(16)?,
        }),
        _ => None,
    }
}

/// The error of a `log_heads` entry that cannot be read.
pub fn corrupt_head(run_id: &str) -> crate::Error {
    crate::Error::Corrupt {
        key: format!("log_heads/{run_id}"),
        reason: "not 16 or 24 bytes".to_string(),
    }
}

/// An `ended` entry: oldest first.
pub fn ended_key(updated_at: u64, run_id: &str) -> Vec<u8> {
    let mut key = updated_at.to_be_bytes().to_vec();
    key.extend_from_slice(run_id.as_bytes());
    key
}

/// The end time and run id of an `ended` entry.
pub fn parse_ended(key: &[u8]) -> Option<(u64, String)> {
    let at: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let run_id = std::str::from_utf8(key.get(8..)?).ok()?;
    Some((u64::from_be_bytes(at), run_id.to_string()))
}

/// A readable name for a log or journal key, for error messages (`tree` names which).
pub fn describe_log_key(tree: &str, key: &[u8]) -> String {
    let len = key
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b: [u8; 4]| u32::from_be_bytes(b) as usize);
    let run = key
        .get(4..4 + len)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let number = key
        .get(4 + len..)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    format!("{tree}/{run}/{number}")
}

/// A readable name for a run key, for error messages.
pub fn describe_run_key(key: &[u8]) -> String {
    let len = key
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b: [u8; 4]| u32::from_be_bytes(b) as usize);
    let session = key
        .get(4..4 + len)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let sequence = key
        .get(4 + len..)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    format!("runs/{session}/{sequence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_runs_sort_in_sequence_order_and_do_not_mix_with_a_longer_id() {
        assert!(run_key("s", 2) < run_key("s", 10));
        assert!(!run_key("s1", 0).starts_with(&len_prefixed("s")));
        assert_eq!(describe_run_key(&run_key("abc", 7)), "runs/abc/7");
    }

    #[test]
    fn a_runs_log_sorts_by_seq_and_heads_round_trip() {
        assert!(log_key("r", 9) < log_key("r", 10));
        assert!(!log_key("r1", 1).starts_with(&len_prefixed("r")));
        let head = Head {
            last: 7,
            count: 3,
            reserved: 70,
        };
        assert_eq!(parse_head(&head_value(head)), Some(head));
        let mut old = [0u8; 16];
        old[7] = 7;
        old[15] = 3;
        assert_eq!(
            parse_head(&old),
            Some(Head {
                reserved: 0,
                ..head
            }),
            "a head written before reservations reserves nothing"
        );
        assert_eq!(parse_head(b"short"), None);
        assert!(ended_key(5, "zzz") < ended_key(6, "a"));
        assert_eq!(parse_ended(&ended_key(5, "run")), Some((5, "run".into())));
        assert_eq!(describe_log_key("events", &log_key("r", 4)), "events/r/4");
    }

    #[test]
    fn newer_sessions_come_first() {
        assert!(index_key("wf", 200, "b") < index_key("wf", 100, "a"));
        let key = index_key("wf", 5, "session-1");
        assert_eq!(
            session_of_index(&key, len_prefixed("wf").len()),
            "session-1"
        );
        assert!(index_names_session(&key, "session-1"));
        assert!(!index_names_session(&key, "session-"));
        assert!(!index_names_session(b"\xff\xff", "x"));
    }
}
