//! Structured output: the schema a typed answer must follow, built from a Rust type.
//!
//! Providers ask for it their own way (OpenAI `response_format: json_schema`, Anthropic a
//! forced tool whose input is the answer) and stream the answer back as text holding JSON, so
//! the agent loop reads every provider's structured answer the same way. Both APIs want an
//! object at the root: any other type is wrapped as `{"value": …}` and unwrapped on return.

use schemars::JsonSchema;
use serde_json::{json, Value};

use crate::schema::{make_strict, schema_for};

/// A JSON schema the model's answer must follow.
///
/// ```
/// use weft_runtime::model::OutputSchema;
///
/// #[derive(schemars::JsonSchema, serde::Deserialize)]
/// struct Source { title: String, url: String }
///
/// let object = OutputSchema::of::<Source>();
/// assert_eq!(object.name, "Source");
/// assert!(object.strict, "every field is required, so OpenAI's strict mode applies");
///
/// let list = OutputSchema::of::<Vec<Source>>();
/// assert_eq!(list.schema["required"][0], "value", "a list is wrapped in an object");
/// assert_eq!(list.unwrap_answer(serde_json::json!({"value": []})), serde_json::json!([]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSchema {
    /// The schema's name (letters, digits, `_`): OpenAI's `json_schema.name`, and the name of
    /// Anthropic's answer tool.
    pub name: String,
    /// The schema, an object at the root.
    pub schema: Value,
    /// Whether OpenAI's strict mode can enforce it (see [`make_strict`]).
    pub strict: bool,
    /// Whether the type's own schema is wrapped as the `value` property.
    pub wrapped: bool,
}

impl OutputSchema {
    /// The schema of `T`, ready for any provider.
    pub fn of<T: JsonSchema>() -> OutputSchema {
        let mut schema = schema_for::<T>();
        let wrapped = schema.get("type") != Some(&Value::String("object".into()));
        if wrapped {
            schema = json!({
                "type": "object",
                "properties": { "value": schema },
                "required": ["value"],
            });
        }
        let strict = make_strict(&mut schema);
        OutputSchema {
            name: schema_name(&T::schema_name()),
            schema,
            strict,
            wrapped,
        }
    }

    /// The answer as the type's own JSON: `value` taken out of a wrapped answer.
    pub fn unwrap_answer(&self, answer: Value) -> Value {
        match answer {
            Value::Object(mut fields) if self.wrapped => {
                fields.remove("value").unwrap_or(Value::Null)
            }
            other => other,
        }
    }
}

/// A name both APIs accept: `[A-Za-z0-9_-]`, at most 64 characters.
fn schema_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "answer".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_both_apis_accept() {
        assert_eq!(schema_name("Array_of_Source"), "Array_of_Source");
        assert_eq!(schema_name("Map<String, u32>"), "Map_String__u32_");
        assert_eq!(schema_name(""), "answer");
        assert_eq!(schema_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn optional_fields_still_allow_strict_mode() {
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Article {
            title: String,
            author: Option<String>,
            tags: Vec<String>,
        }
        let schema = OutputSchema::of::<Article>();
        assert!(schema.strict, "{}", schema.schema);
        let required = schema.schema["required"].as_array().unwrap();
        assert_eq!(
            required.len(),
            3,
            "an Option is required but nullable in strict mode"
        );
        assert_eq!(schema.schema["additionalProperties"], false);
    }
}
