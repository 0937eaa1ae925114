//! The offline model's typed answers: a value of the requested schema, filled from the JSON the
//! tools returned.
//!
//! Fields are matched by name anywhere in the tool results (newest first); a list without a
//! matching name takes the first list of the results whose items have the item's shape; what
//! nothing matches gets a plain value: for strings, the opening sentences of the longest text
//! in the tool results (the prompt when there are none), the first URL for a `…url` field;
//! the minimum for numbers, `false`, an empty list, `null` where allowed.

use serde_json::{Map, Value};

use super::calls::urls_in;

/// A value of `schema` from `evidence` (tool results, newest first) and the prompt.
pub(super) fn answer(schema: &Value, evidence: &[Value], prompt: &str) -> Value {
    let longest = longest_text(evidence);
    Filler {
        prompt,
        gist: longest.map(|text| opening(text, 2)),
    }
    .value(schema, None, evidence)
}

struct Filler<'a> {
    prompt: &'a str,
    /// The opening sentences of the longest text in the tool results.
    gist: Option<String>,
}

/// The longest string anywhere in `values`, if it reads like prose (several words).
fn longest_text(values: &[Value]) -> Option<&str> {
    fn walk<'v>(value: &'v Value, best: &mut Option<&'v str>) {
        match value {
            Value::String(text)
                if text.split_whitespace().count() >= 8
                    && best.is_none_or(|b| text.len() > b.len()) =>
            {
                *best = Some(text);
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, best)),
            Value::Object(map) => map.values().for_each(|v| walk(v, best)),
            _ => {}
        }
    }
    let mut best = None;
    values.iter().for_each(|v| walk(v, &mut best));
    best
}

/// The first `sentences` sentences of `text`.
fn opening(text: &str, sentences: usize) -> String {
    let mut end = text.len();
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?') && text[i + 1..].starts_with([' ', '\n']) {
            seen += 1;
            if seen == sentences {
                end = i + 1;
                break;
            }
        }
    }
    text[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Filler<'_> {
    /// A value for `schema`, named `key` in its parent, from `scope` (most relevant first).
    fn value(&self, schema: &Value, key: Option<&str>, scope: &[Value]) -> Value {
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            let found = key
                .and_then(|key| find_key(scope, key))
                .filter(|v| options.contains(v));
            return found
                .or_else(|| options.first().cloned())
                .unwrap_or(Value::Null);
        }
        let (kind, nullable) = kind_of(schema);
        let found = key.and_then(|key| find_key(scope, key));
        match kind {
            "object" => {
                let scope = match &found {
                    Some(object @ Value::Object(_)) => prepend(object, scope),
                    _ => scope.to_vec(),
                };
                let mut fields = Map::new();
                if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                    for (name, property) in properties {
                        fields.insert(name.clone(), self.value(property, Some(name), &scope));
                    }
                }
                Value::Object(fields)
            }
            "array" => {
                let items = schema.get("items").unwrap_or(&Value::Null);
                let list = found
                    .and_then(|v| v.as_array().cloned())
                    .or_else(|| first_list_shaped_like(items, scope));
                let (item_kind, _) = kind_of(items);
                match list {
                    Some(list) => list
                        .iter()
                        .map(|item| {
                            if fits(item, item_kind) {
                                item.clone()
                            } else {
                                self.value(items, None, &prepend(item, scope))
                            }
                        })
                        .collect(),
                    None => Value::Array(Vec::new()),
                }
            }
            _ => match found {
                Some(value) if fits(&value, kind) => value,
                _ if nullable => Value::Null,
                _ => self.plain(schema, kind, key),
            },
        }
    }

    /// A value when nothing in the tool results fits.
    fn plain(&self, schema: &Value, kind: &str, key: Option<&str>) -> Value {
        match kind {
            "string" => {
                let wants_url = key.is_some_and(|k| k.to_ascii_lowercase().contains("url"));
                match (urls_in(self.prompt).into_iter().next(), &self.gist) {
                    (Some(url), _) if wants_url => Value::String(url),
                    (_, Some(gist)) => Value::String(gist.clone()),
                    _ => Value::String(self.prompt.trim().chars().take(200).collect()),
                }
            }
            "integer" | "number" => schema.get("minimum").cloned().unwrap_or(Value::from(0)),
            "boolean" => Value::Bool(false),
            _ => Value::Null,
        }
    }
}

/// The schema's type, and whether it accepts `null` (`Option<T>`).
fn kind_of(schema: &Value) -> (&str, bool) {
    match schema.get("type") {
        Some(Value::String(kind)) => (kind.as_str(), false),
        Some(Value::Array(kinds)) => {
            let nullable = kinds.iter().any(|k| k == "null");
            let kind = kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null")
                .unwrap_or("null");
            (kind, nullable)
        }
        _ => {
            // `anyOf: [T, null]`
            let options = schema
                .get("anyOf")
                .or_else(|| schema.get("oneOf"))
                .and_then(Value::as_array);
            match options {
                Some(options) => {
                    let nullable = options
                        .iter()
                        .any(|o| o.get("type") == Some(&"null".into()));
                    let inner = options
                        .iter()
                        .find(|o| o.get("type") != Some(&"null".into()))
                        .map_or(("null", true), kind_of);
                    (inner.0, nullable || inner.1)
                }
                None => ("string", false),
            }
        }
    }
}

fn fits(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => false,
    }
}

fn prepend(first: &Value, rest: &[Value]) -> Vec<Value> {
    let mut scope = Vec::with_capacity(rest.len() + 1);
    scope.push(first.clone());
    scope.extend_from_slice(rest);
    scope
}

/// The value of the first field named `key`, searching each scope value breadth first.
fn find_key(scope: &[Value], key: &str) -> Option<Value> {
    scope.iter().find_map(|root| {
        let mut queue = vec![root];
        while !queue.is_empty() {
            let mut next = Vec::new();
            for value in queue {
                match value {
                    Value::Object(map) => {
                        if let Some(found) = map.get(key) {
                            return Some(found.clone());
                        }
                        next.extend(map.values());
                    }
                    Value::Array(items) => next.extend(items),
                    _ => {}
                }
            }
            queue = next;
        }
        None
    })
}

/// The first list in `scope` whose items look like `items` (objects sharing a field name with
/// it, or values of its type).
fn first_list_shaped_like(items: &Value, scope: &[Value]) -> Option<Vec<Value>> {
    let wanted: Vec<&String> = items
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    let (kind, _) = kind_of(items);
    let shaped = |list: &Vec<Value>| {
        list.first().is_some_and(|first| match first {
            Value::Object(map) => wanted.iter().any(|name| map.contains_key(*name)),
            other => fits(other, kind),
        })
    };
    let mut queue: Vec<&Value> = scope.iter().collect();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for value in queue {
            match value {
                Value::Array(list) if shaped(list) => return Some(list.clone()),
                Value::Array(list) => next.extend(list),
                Value::Object(map) => next.extend(map.values()),
                _ => {}
            }
        }
        queue = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_come_from_tool_results_by_name_and_lists_by_shape() {
        let schema = json!({"type": "object", "properties": {
            "topic": {"type": "string"},
            "sources": {"type": "array", "items": {"type": "object", "properties": {
                "title": {"type": "string"}, "url": {"type": "string"},
                "rank": {"type": "integer", "minimum": 1},
                "author": {"type": ["string", "null"]}
            }}}
        }});
        let results = json!({"query": "sled", "results": [
            {"title": "Sled", "url": "https://sled.test", "snippet": "fast"},
            {"title": "Docs", "url": "https://docs.test"}
        ]});
        let answer = answer(&schema, &[results], "sled databases");
        assert_eq!(
            answer["topic"], "sled databases",
            "no prose in the results: the prompt"
        );
        assert_eq!(answer["sources"].as_array().unwrap().len(), 2);
        assert_eq!(answer["sources"][1]["url"], "https://docs.test");
        assert_eq!(answer["sources"][0]["rank"], 1);
        assert_eq!(answer["sources"][0]["author"], Value::Null);
    }

    #[test]
    fn without_evidence_every_field_still_has_a_value_of_its_type() {
        let schema = json!({"type": "object", "properties": {
            "relevant": {"type": "boolean"}, "url": {"type": "string"},
            "kind": {"enum": ["news", "blog"]}, "tags": {"type": "array", "items": {"type": "string"}}
        }});
        let answer = answer(&schema, &[], "see https://a.test/x");
        assert_eq!(
            answer,
            json!({"relevant": false, "url": "https://a.test/x", "kind": "news", "tags": []})
        );
    }

    #[test]
    fn unmatched_strings_take_the_opening_of_the_longest_text() {
        let article = json!({"title": "Sled", "authors": ["Ada", "Grace"], "text": "Sled is an embedded database. It runs in your process. It is fast."});
        let schema = json!({"type": "object", "properties": {
            "title": {"type": "string"}, "summary": {"type": "string"},
            "authors": {"type": "array", "items": {"type": "string"}}
        }});
        let answer = answer(&schema, &[article], "Read https://sled.test");
        assert_eq!(answer["title"], "Sled");
        assert_eq!(answer["authors"], json!(["Ada", "Grace"]));
        assert_eq!(
            answer["summary"],
            "Sled is an embedded database. It runs in your process."
        );
    }
}
