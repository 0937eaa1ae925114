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
/// (`additionalProperties: false`) with all its properties required. An optional property
/// whose schema accepts `null` (an `Option<T>` field) becomes required-but-nullable, which
/// means the same; keywords strict mode rejects (`format` other than on strings, `default`)
/// are dropped. Returns `false`, leaving the schema as it was, when a property is optional
/// without accepting `null`, which strict mode cannot express.
pub fn make_strict(schema: &mut Value) -> bool {
    let mut candidate = schema.clone();
    if close_objects(&mut candidate) {
        *schema = candidate;
        true
    } else {
        false
    }
}

/// Whether a property schema accepts `null`.
fn accepts_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "null" => return true,
        Some(Value::Array(kinds)) if kinds.iter().any(|k| k == "null") => return true,
        _ => {}
    }
    ["anyOf", "oneOf"].iter().any(|key| {
        schema
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|options| options.iter().any(accepts_null))
    })
}

fn close_objects(schema: &mut Value) -> bool {
    let Value::Object(map) = schema else {
        return true;
    };
    map.remove("default");
    if map.get("type") != Some(&Value::String("string".into())) {
        map.remove("format");
    }
    if map.get("type") == Some(&Value::String("object".into())) {
        let properties: Vec<(String, bool)> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), accepts_null(v)))
                    .collect()
            })
            .unwrap_or_default();
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if properties
            .iter()
            .any(|(name, nullable)| !nullable && !required.contains(&name.as_str()))
        {
            return false;
        }
        let all = properties.into_iter().map(|(name, _)| Value::String(name));
        map.insert("required".into(), Value::Array(all.collect()));
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Subschemas, and only those: a property may well be named `format` or `default`.
    let mut ok = true;
    for (key, value) in map.iter_mut() {
        ok &= match (key.as_str(), value) {
            ("properties" | "$defs" | "definitions", Value::Object(named)) => {
                named.values_mut().all(close_objects)
            }
            ("items" | "additionalProperties" | "not", sub @ Value::Object(_)) => {
                close_objects(sub)
            }
            ("items" | "prefixItems" | "anyOf" | "oneOf" | "allOf", Value::Array(subs)) => {
                subs.iter_mut().all(close_objects)
            }
            _ => true,
        };
    }
    ok
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
        let mut nullable = json!({"type": "object", "properties": {
            "a": {"type": ["string", "null"]},
            "n": {"type": "integer", "format": "uint32", "minimum": 0, "default": 3},
        }, "required": ["n"]});
        assert!(make_strict(&mut nullable));
        assert_eq!(nullable["required"], json!(["a", "n"]));
        assert_eq!(
            nullable["properties"]["n"],
            json!({"type": "integer", "minimum": 0})
        );
        let mut named = json!({"type": "object", "properties": {
            "format": {"type": "string", "format": "date"},
            "default": {"type": "boolean"},
        }, "required": ["format", "default"]});
        assert!(make_strict(&mut named));
        assert_eq!(
            named["properties"]["format"]["format"], "date",
            "a property named `format` stays"
        );
        assert!(named["properties"].get("default").is_some());
    }
}
