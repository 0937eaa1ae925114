//! Session state: [`SessionState`], the dynamic default, and the [`WorkflowState`] bound a
//! typed state (`#[workflow(state = MyState)]`) meets.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Result;

/// What a workflow's `session_state` may be: anything serialisable with a default.
/// Implemented for every such type; [`SessionState`] is the dynamic default.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a workflow's session state",
    label = "session state must implement Serialize, DeserializeOwned, Default, Send and Sync",
    note = "derive them: #[derive(Serialize, Deserialize, Default)]"
)]
pub trait WorkflowState: Serialize + DeserializeOwned + Default + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Default + Send + Sync + 'static> WorkflowState for T {}

/// The dynamic session state: a JSON object with typed accessors.
///
/// ```
/// use weft_runtime::SessionState;
/// let mut state = SessionState::default();
/// state.insert("visits", 3)?;
/// assert_eq!(state.get::<u32>("visits"), Some(3));
/// assert_eq!(state.get::<String>("visits"), None); // wrong type: None, not a panic
/// state.remove("visits");
/// assert!(state.is_empty());
/// # Ok::<(), weft_runtime::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionState(Map<String, Value>);

impl SessionState {
    /// An empty state.
    pub fn new() -> Self {
        SessionState::default()
    }

    /// The value under `key` as a `T`; `None` if it is missing or is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key).and_then(|value| T::deserialize(value).ok())
    }

    /// The raw JSON under `key`.
    pub fn get_value(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn insert<T: Serialize>(&mut self, key: impl Into<String>, value: T) -> Result<()> {
        self.0.insert(key.into(), serde_json::to_value(value)?);
        Ok(())
    }

    /// Removes `key`, returning its JSON.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// The state as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl<'a> IntoIterator for &'a SessionState {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Map<String, Value>> for SessionState {
    fn from(map: Map<String, Value>) -> Self {
        SessionState(map)
    }
}

/// How a stored session's state meets the initial state given to the builder:
/// **the stored state wins; the initial state only fills in top-level keys (or fields) the
/// stored one lacks.** So an initial state works as defaults: a new session starts from it, and
/// an existing session keeps everything it saved while picking up keys added since.
/// Anything that is not a JSON object on either side: the stored value wins whole.
pub(crate) fn merge_stored_over_initial(initial: Value, stored: Value) -> Value {
    match (initial, stored) {
        (Value::Object(mut merged), Value::Object(stored)) => {
            merged.extend(stored);
            Value::Object(merged)
        }
        (_, stored) => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_keys_win_and_initial_keys_fill_gaps() {
        let merged = merge_stored_over_initial(
            json!({"theme": "dark", "limit": 5}),
            json!({"limit": 9, "history": [1]}),
        );
        assert_eq!(merged, json!({"theme": "dark", "limit": 9, "history": [1]}));
        assert_eq!(
            merge_stored_over_initial(json!({"a": 1}), json!(3)),
            json!(3)
        );
    }

    #[test]
    fn typed_access_never_panics() {
        let mut state = SessionState::new();
        state.insert("n", 1).unwrap();
        state.insert("s", "x").unwrap();
        assert_eq!(state.get::<i64>("n"), Some(1));
        assert_eq!(state.get::<i64>("s"), None);
        assert_eq!(state.get::<i64>("missing"), None);
        assert!(state.contains_key("s"));
        assert_eq!(state.iter().count(), 2);
        state.clear();
        assert!(state.is_empty());
    }
}
