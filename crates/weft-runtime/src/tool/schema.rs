//! JSON schemas from Rust types (schemars), in the shape providers accept for tool parameters
//! and structured output: subschemas inlined, no `$schema`/`title` at the root.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

/// The JSON schema of `T`: integers are `integer`, floats `number`, unit enums `enum`,
/// `Option<T>` fields are not required, doc comments become descriptions.
pub fn schema_for<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
        root.remove("title");
        if root.get("type") == Some(&Value::String("object".into()))
            && !root.contains_key("properties")
        {
            root.insert("properties".into(), Value::Object(Default::default()));
        }
    }
    schema
}

/// Makes a schema fit OpenAI's strict structured-output mode if it can: every object closed
/// (`additionalProperties: false`) and all its properties required. Returns `false` (leaving
/// the schema as it was) when some property is optional, which strict mode cannot express.
pub fn make_strict(schema: &mut Value) -> bool {
    let mut candidate = schema.clone();
    if close_objects(&mut candidate) {
        *schema = candidate;
        true
    } else {
        false
    }
}

fn close_objects(schema: &mut Value) -> bool {
    match schema {
        Value::Object(map) => {
            if map.get("type") == Some(&Value::String("object".into())) {
                let properties: Vec<String> = map
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default();
                let required: Vec<String> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if properties.iter().any(|p| !required.contains(p)) {
                    return false;
                }
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().all(close_objects)
        }
        Value::Array(items) => items.iter_mut().all(close_objects),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_only_when_every_property_is_required() {
        let mut closed =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        assert!(make_strict(&mut closed));
        assert_eq!(closed["additionalProperties"], false);
        let mut open =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": []});
        assert!(!make_strict(&mut open));
        assert!(open.get("additionalProperties").is_none());
    }
}
