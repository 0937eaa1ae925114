//! Typed answers (`Agent::run_typed`): reading and checking the model's JSON, and the repair
//! turn when it does not fit.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::OutputSchema;
use crate::response::Content;
use crate::{Error, Result};

/// How many times a misfit answer is sent back for repair before it is an error.
pub(crate) const REPAIR_TURNS: usize = 1;

/// What a typed run expects: the schema sent to the model, and the check that an answer fits
/// the Rust type.
#[derive(Clone)]
pub(crate) struct Expected {
    pub schema: OutputSchema,
    pub type_name: &'static str,
    check: fn(Value) -> std::result::Result<(), String>,
}

fn fits<T: DeserializeOwned>(value: Value) -> std::result::Result<(), String> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|err| match err.path().to_string().as_str() {
            "." => err.inner().to_string(),
            path => format!("at `{path}`: {}", err.inner()),
        })
}

impl Expected {
    pub fn of<T: schemars::JsonSchema + DeserializeOwned>() -> Expected {
        Expected {
            schema: OutputSchema::of::<T>(),
            type_name: std::any::type_name::<T>(),
            check: fits::<T>,
        }
    }

    /// The answer as the type's JSON, if it is JSON that fits. Tolerates a Markdown code fence
    /// around it, which some models add even in JSON mode.
    pub fn read(&self, raw: &str) -> std::result::Result<Value, String> {
        let text = strip_fence(raw.trim());
        let answer: Value =
            serde_json::from_str(text).map_err(|err| format!("the answer is not JSON ({err})"))?;
        let value = self.schema.unwrap_answer(answer);
        (self.check)(value.clone())?;
        Ok(value)
    }

    /// The typed value of a run that ended with a checked answer.
    pub fn typed_value<T: DeserializeOwned>(&self, content: &Content) -> Result<T> {
        let invalid = |raw: String, error: String| Error::InvalidOutput {
            type_name: self.type_name,
            raw,
            error,
        };
        match content {
            Content::Json(value) => serde_json::from_value(value.clone())
                .map_err(|err| invalid(value.to_string(), err.to_string())),
            Content::Text(text) => Err(invalid(text.clone(), "no structured answer".into())),
        }
    }
}

/// The message of the repair turn.
pub(crate) fn repair_prompt(error: &str) -> String {
    format!(
        "Your answer does not match the required JSON schema: {error}. Answer again with only the corrected JSON."
    )
}

fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Pair {
        name: String,
        count: u32,
    }

    #[test]
    fn answers_are_read_checked_and_explained() {
        let expected = Expected::of::<Pair>();
        assert!(expected.read(r#"{"name":"a","count":2}"#).is_ok());
        assert!(expected
            .read("```json\n{\"name\":\"a\",\"count\":2}\n```")
            .is_ok());
        let err = expected.read(r#"{"name":"a","count":"two"}"#).unwrap_err();
        assert!(err.contains("at `count`"), "{err}");
        let err = expected.read("Sure! Here it is.").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");

        let list = Expected::of::<Vec<u32>>();
        assert_eq!(
            list.read(r#"{"value":[1,2]}"#).unwrap(),
            serde_json::json!([1, 2])
        );
    }
}
