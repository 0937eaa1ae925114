//! Which tool the offline model calls, and with what arguments.

use serde_json::{Map, Value};

use crate::model::ToolSpec;

/// The most calls of one tool in one turn (one per URL of the prompt).
const MAX_CALLS: usize = 5;

/// One tool call the offline model makes.
#[derive(Debug, PartialEq)]
pub(super) struct Call {
    pub name: String,
    pub arguments: Value,
}

/// The calls for a prompt: the first tool whose required arguments can all be filled; a tool
/// with a `url` parameter is called once per URL of the prompt.
pub(super) fn plan(tools: &[ToolSpec], prompt: &str) -> Option<Vec<Call>> {
    let urls = urls_in(prompt);
    tools.iter().find_map(|tool| {
        let properties = tool.parameters.get("properties").and_then(Value::as_object);
        let takes_url = properties.is_some_and(|p| p.keys().any(|k| is_url_param(k)));
        if takes_url && urls.is_empty() {
            return None;
        }
        let targets: Vec<Option<&str>> = if takes_url {
            urls.iter()
                .take(MAX_CALLS)
                .map(|u| Some(u.as_str()))
                .collect()
        } else {
            vec![None]
        };
        let calls = targets
            .into_iter()
            .map(|url| {
                arguments(&tool.parameters, prompt, url).map(|arguments| Call {
                    name: tool.name.clone(),
                    arguments,
                })
            })
            .collect::<Option<Vec<Call>>>()?;
        Some(calls)
    })
}

fn is_url_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "url" || name.ends_with("_url") || name == "link" || name == "href"
}

/// Arguments for every required parameter (optional ones are left out); `None` if one cannot
/// be filled.
fn arguments(parameters: &Value, prompt: &str, url: Option<&str>) -> Option<Value> {
    let properties = parameters.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = parameters
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut arguments = Map::new();
    for name in required {
        let schema = properties.and_then(|p| p.get(name)).unwrap_or(&Value::Null);
        let value = if is_url_param(name) {
            Value::String(url?.to_string())
        } else {
            scalar(schema, prompt)?
        };
        arguments.insert(name.to_string(), value);
    }
    Some(Value::Object(arguments))
}

/// What a prompt is about: the text after its last `": "` (`"Find sources about: sled"` is
/// about `sled`), else the whole prompt; at most 200 characters.
fn subject(prompt: &str) -> String {
    let prompt = prompt.trim();
    let subject = prompt
        .rsplit_once(": ")
        .map(|(_, rest)| rest.trim())
        .filter(|rest| !rest.is_empty())
        .unwrap_or(prompt);
    subject.chars().take(200).collect()
}

/// A value of a simple schema: the prompt's subject for strings, the minimum (or 1) for
/// numbers.
fn scalar(schema: &Value, prompt: &str) -> Option<Value> {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return Some(first.clone());
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")?,
        _ => "string",
    };
    Some(match kind {
        "string" => Value::String(subject(prompt)),
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(Value::from(1)),
        "boolean" => Value::Bool(false),
        _ => return None,
    })
}

/// The URLs of a text, in order, without duplicates or trailing punctuation.
pub(super) fn urls_in(text: &str) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '(' | ')'))
    {
        if let Some(start) = word.find("http://").or_else(|| word.find("https://")) {
            let url = word[start..].trim_end_matches(['.', ',', ';', ':', '!', '?', ']', '\'']);
            if !urls.iter().any(|u| u == url) {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, parameters: Value) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: String::new(),
            parameters,
        }
    }

    #[test]
    fn url_tools_are_called_once_per_url_and_others_with_the_prompt() {
        let read = tool(
            "read_article",
            json!({"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}),
        );
        let search = tool(
            "search",
            json!({"type": "object", "properties": {
                "query": {"type": "string"}, "max_results": {"type": "integer", "minimum": 1}
            }, "required": ["query"]}),
        );
        let tools = [read, search];
        let calls = plan(&tools, "Read https://a.test/x, and (https://b.test/y).").unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].arguments, json!({"url": "https://b.test/y"}));
        let calls = plan(&tools, "rust embedded databases").unwrap();
        assert_eq!(calls[0].name, "search");
        assert_eq!(
            calls[0].arguments,
            json!({"query": "rust embedded databases"})
        );
        assert!(plan(&tools[..1], "no links here").is_none());
    }
}
