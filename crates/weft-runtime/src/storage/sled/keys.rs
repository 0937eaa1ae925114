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
//!
//! A session's runs list in the order they started (sled's `generate_id` is monotonic across
//! restarts); the indexes list newest first because the timestamp is stored inverted.

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
