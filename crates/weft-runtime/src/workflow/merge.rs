//! Three-way merge of session state, so changes made from one stored version (by a run, or
//! to `session_state` between runs) can be redone on top of another writer's newer version.

use serde_json::{Map, Value};

/// Merges the changes `mine` made to `base` with those `theirs` made, key by key at the top
/// level of a JSON object. When both changed the same key to different values, that is a real
/// conflict, which is reported rather than guessed: the error lists every such key (`.` when
/// the states are not JSON objects and differ as a whole).
pub(crate) fn three_way(base: &Value, mine: &Value, theirs: &Value) -> Result<Value, Vec<String>> {
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
                } else if t == b || m == t {
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
        _ if theirs == base || mine == theirs => Ok(mine.clone()),
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
            three_way(&base, &mine, &theirs),
            Ok(json!({"a": 2, "b": 3, "new": "m"}))
        );
        assert_eq!(
            three_way(&base, &json!({"a": 5, "b": 7}), &json!({"a": 6, "b": 8})),
            Err(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            three_way(&base, &json!({"a": 5}), &json!({"a": 5})),
            Ok(json!({"a": 5}))
        );
        assert_eq!(
            three_way(&json!(1), &json!(2), &json!(3)),
            Err(vec![".".to_string()])
        );
    }
}
