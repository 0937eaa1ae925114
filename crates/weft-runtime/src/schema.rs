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

/// Makes a schema fit OpenAI's strict structured-output mode if it can:
/// - every object closed (`additionalProperties: false`) with all its properties required; an
///   optional property whose schema accepts `null` (an `Option<T>` field) becomes
///   required-but-nullable, which means the same;
/// - `oneOf` (data-carrying enums) becomes `anyOf`, `const` becomes a one-value `enum`;
/// - keywords strict mode rejects are dropped: `default`, `uniqueItems`, and `format` except
///   the string formats it knows.
///
/// Returns `false`, leaving the schema as it was, when strict mode cannot express it: an
/// optional property that does not accept `null`, a map (an object with a value schema for
/// any key), a schema that accepts anything (`serde_json::Value`), `allOf` or `not`.
pub fn make_strict(schema: &mut Value) -> bool {
    let mut candidate = schema.clone();
    if close_objects(&mut candidate) {
        *schema = candidate;
        true
    } else {
        false
    }
}

/// The string formats OpenAI's strict mode accepts.
const STRICT_STRING_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

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

/// Whether a schema's `type` is, or includes, `kind`.
fn has_type(map: &serde_json::Map<String, Value>, kind: &str) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(types)) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

fn close_objects(schema: &mut Value) -> bool {
    let map = match schema {
        Value::Object(map) => map,
        // `true` (anything) cannot be strict; `false` never occurs in a useful answer.
        _ => return false,
    };
    if map.is_empty() || map.contains_key("allOf") || map.contains_key("not") {
        return false;
    }
    map.remove("default");
    map.remove("uniqueItems");
    let known_format = map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| STRICT_STRING_FORMATS.contains(&f));
    if !(has_type(map, "string") && known_format) {
        map.remove("format");
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), Value::Array(vec![value]));
    }
    if let Some(options) = map.remove("oneOf") {
        map.insert("anyOf".into(), options);
    }
    if has_type(map, "object") {
        if matches!(
            map.get("additionalProperties"),
            Some(Value::Object(_)) | Some(Value::Bool(true))
        ) {
            return false; // a map: keys are not known in advance
        }
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
        map.entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    // Subschemas, and only those: a property may well be named `format` or `default`.
    let mut ok = true;
    for (key, value) in map.iter_mut() {
        ok &= match (key.as_str(), value) {
            ("properties" | "$defs" | "definitions", Value::Object(named)) => {
                named.values_mut().all(close_objects)
            }
            ("items" | "additionalProperties", sub @ Value::Object(_)) => close_objects(sub),
            ("items" | "prefixItems" | "anyOf", Value::Array(subs)) => {
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

    #[test]
    fn rust_shapes_are_strict_where_openai_accepts_them_and_not_elsewhere() {
        use schemars::JsonSchema;
        use std::collections::BTreeMap;

        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Author {
            name: String,
        }
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        #[serde(tag = "kind")]
        enum Finding {
            Fact { claim: String },
            Gap { question: String },
        }
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Report {
            lead: Option<Author>,
            findings: Vec<Finding>,
            tags: std::collections::HashSet<String>,
            link: Option<String>,
        }
        let mut report = schema_for::<Report>();
        assert!(make_strict(&mut report), "{report}");
        let lead = &report["properties"]["lead"];
        assert_eq!(
            lead["additionalProperties"], false,
            "Option<struct> is closed: {lead}"
        );
        assert_eq!(lead["required"], json!(["name"]));
        let finding = &report["properties"]["findings"]["items"];
        assert!(
            finding.get("oneOf").is_none() && finding["anyOf"].is_array(),
            "{finding}"
        );
        assert!(!report.to_string().contains("\"const\""), "{report}");
        assert!(!report.to_string().contains("uniqueItems"), "{report}");

        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Scores {
            by_source: BTreeMap<String, u32>,
        }
        assert!(
            !make_strict(&mut schema_for::<Scores>()),
            "a map cannot be strict"
        );
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Anything {
            raw: serde_json::Value,
        }
        assert!(
            !make_strict(&mut schema_for::<Anything>()),
            "`Value` cannot be strict"
        );
    }
}
