//! Three-way merge of session state, so a run that lost a compare-and-swap can redo its
//! change on top of the other writer's.

use serde_json::{Map, Value};

/// Merges the changes `mine` made to `base` with those `theirs` made, key by key at the top
/// level of a JSON object. `None` when both changed the same key differently: that is a real
/// conflict, which is reported rather than guessed.
pub fn three_way(base: &Value, mine: &Value, theirs: &Value) -> Option<Value> {
    match (base, mine, theirs) {
        (Value::Object(base), Value::Object(mine), Value::Object(theirs)) => {
            let mut merged = Map::new();
            let keys = base.keys().chain(mine.keys()).chain(theirs.keys());
            for key in keys {
                if merged.contains_key(key) {
                    continue;
                }
                let (b, m, t) = (base.get(key), mine.get(key), theirs.get(key));
                let value = if m == b {
                    t
                } else if t == b || m == t {
                    m
                } else {
                    return None;
                };
                if let Some(value) = value {
                    merged.insert(key.clone(), value.clone());
                }
            }
            Some(Value::Object(merged))
        }
        _ if mine == base => Some(theirs.clone()),
        _ if theirs == base || mine == theirs => Some(mine.clone()),
        _ => None,
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
            Some(json!({"a": 2, "b": 3, "new": "m"}))
        );
        assert_eq!(three_way(&base, &json!({"a": 5}), &json!({"a": 6})), None);
        assert_eq!(
            three_way(&base, &json!({"a": 5}), &json!({"a": 5})),
            Some(json!({"a": 5}))
        );
    }
}
