//! Three-way merge of session state, so changes made from one stored version (by a run, or
//! to `session_state` between runs) can be redone on top of another writer's newer version.

use serde_json::{Map, Value};

/// How [`three_way`] takes a key both sides changed to the same value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SameChange {
    /// As one change: right when `theirs` may hold this writer's own earlier save (a resumed
    /// run whose interrupted try saved before it died), or edits that are idempotent.
    Agrees,
    /// As a conflict: two writers that each changed the key from the same base (two runs
    /// counting `n` from 0 to 1) made two changes, and taking one would lose the other. (Both
    /// removing a key still agree.)
    Conflicts,
}

/// Merges the changes `mine` made to `base` with those `theirs` made, key by key at the top
/// level of a JSON object. When both changed the same key to different values (or to the
/// same value, with [`SameChange::Conflicts`]), that is a real conflict, which is reported
/// rather than guessed: the error lists every such key (`.` when the states are not JSON
/// objects and differ as a whole).
pub(crate) fn three_way(
    base: &Value,
    mine: &Value,
    theirs: &Value,
    same: SameChange,
) -> Result<Value, Vec<String>> {
    let agrees = same == SameChange::Agrees;
    match (base, mine, theirs) {
        (Value::Object(base), Value::Object(mine), Value::Object(theirs)) => {
            let mut merged = Map::new();
            let mut conflicts = Vec::new();
            let keys = base.keys().chain(mine.keys()).chain(theirs.keys());
            for key in keys {
                if merged.contains_key(key) || conflicts.contains(key) {
                    continue;
                }
                let (b, m, t) = (base.get(key), mine.get(key), theirs.get(key));
                let value = if m == b {
                    t
                } else if t == b || ((agrees || m.is_none()) && m == t) {
                    // (Both removing a key is one removal: nothing of either is lost.)
                    m
                } else {
                    conflicts.push(key.clone());
                    continue;
                };
                if let Some(value) = value {
                    merged.insert(key.clone(), value.clone());
                }
            }
            if conflicts.is_empty() {
                Ok(Value::Object(merged))
            } else {
                conflicts.sort();
                Err(conflicts)
            }
        }
        _ if mine == base => Ok(theirs.clone()),
        _ if theirs == base || (agrees && mine == theirs) => Ok(mine.clone()),
        _ => Err(vec![".".to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn disjoint_changes_merge_and_same_key_changes_conflict() {
        let base = json!({"a": 1, "b": 1, "gone": true});
        let mine = json!({"a": 2, "b": 1, "gone": true, "new": "m"});
        let theirs = json!({"a": 1, "b": 3});
        assert_eq!(
            three_way(&base, &mine, &theirs, SameChange::Conflicts),
            Ok(json!({"a": 2, "b": 3, "new": "m"}))
        );
        assert_eq!(
            three_way(
                &base,
                &json!({"a": 5, "b": 7}),
                &json!({"a": 6, "b": 8}),
                SameChange::Agrees
            ),
            Err(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            three_way(
                &base,
                &json!({"a": 5}),
                &json!({"a": 5}),
                SameChange::Agrees
            ),
            Ok(json!({"a": 5}))
        );
        // Two runs that each counted `a` up from 1 made two changes, not one.
        assert_eq!(
            three_way(
                &base,
                &json!({"a": 2, "b": 1}),
                &json!({"a": 2, "b": 1}),
                SameChange::Conflicts
            ),
            Err(vec!["a".to_string()])
        );
        assert_eq!(
            three_way(&json!(1), &json!(2), &json!(3), SameChange::Agrees),
            Err(vec![".".to_string()])
        );
        assert_eq!(
            three_way(&json!(1), &json!(2), &json!(2), SameChange::Conflicts),
            Err(vec![".".to_string()])
        );
    }
}
