//! Model spec strings (`"openai:gpt-4o"`) and [`IntoModel`], which lets `Agent::builder().model(..)`
//! take a provider value, a shared model or a spec string alike.

use std::sync::Arc;

use super::{Model, ModelRef};
use crate::providers::{Claude, Offline, Ollama, OpenAIChat};
use crate::{Error, Result};

/// The providers a model spec may name, in the order error messages list them.
pub const KNOWN_PROVIDERS: &[&str] = &["openai", "anthropic", "ollama", "offline"];

/// Builds a model from a spec `provider:model-id`: `openai:gpt-4o`, `anthropic:claude-sonnet-4-5`,
/// `ollama:llama3.2`, `offline:echo`. Keys and endpoints come from the environment when the
/// model first runs.
///
/// ```
/// let model = weft_runtime::model_from_spec("openai:gpt-4o").unwrap();
/// assert_eq!((model.provider(), model.id()), ("openai", "gpt-4o"));
/// assert!(weft_runtime::model_from_spec("gemini:pro").is_err());
/// ```
pub fn model_from_spec(spec: &str) -> Result<ModelRef> {
    let refuse = |reason: String| Error::ModelSpec {
        spec: spec.to_string(),
        reason,
    };
    let Some((provider, id)) = spec.split_once(':') else {
        return Err(refuse(format!(
            "expected `provider:model`, e.g. `openai:gpt-4o`; providers: {}",
            KNOWN_PROVIDERS.join(", ")
        )));
    };
    let id = id.trim();
    if id.is_empty() {
        return Err(refuse("the model id after `:` is empty".to_string()));
    }
    Ok(match provider.trim() {
        "openai" => Arc::new(OpenAIChat::new(id)),
        "anthropic" => Arc::new(Claude::new(id)),
        "ollama" => Arc::new(Ollama::new(id)),
        "offline" => Arc::new(Offline::new(id)),
        other => {
            return Err(refuse(format!(
                "unknown provider `{other}`; known providers: {}",
                KNOWN_PROVIDERS.join(", ")
            )))
        }
    })
}

/// Anything `Agent::builder().model(..)` accepts: a provider value (`OpenAIChat`, `Claude`,
/// `Ollama`, `Offline`, or your own [`Model`]), a shared [`ModelRef`], or a spec string.
pub trait IntoModel {
    /// Converts into a shared model; a bad spec string is an error.
    fn into_model(self) -> Result<ModelRef>;
}

impl<M: Model + 'static> IntoModel for M {
    fn into_model(self) -> Result<ModelRef> {
        Ok(Arc::new(self))
    }
}

impl IntoModel for ModelRef {
    fn into_model(self) -> Result<ModelRef> {
        Ok(self)
    }
}

impl IntoModel for &str {
    fn into_model(self) -> Result<ModelRef> {
        model_from_spec(self)
    }
}

impl IntoModel for String {
    fn into_model(self) -> Result<ModelRef> {
        model_from_spec(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_provider_parses() {
        for provider in KNOWN_PROVIDERS {
            let model = model_from_spec(&format!("{provider}:some-model")).unwrap();
            assert_eq!(model.provider(), *provider);
            assert_eq!(model.id(), "some-model");
        }
    }

    #[test]
    fn bad_specs_say_what_is_accepted() {
        let err = model_from_spec("gemini:pro").unwrap_err().to_string();
        assert!(err.contains("unknown provider `gemini`"), "{err}");
        assert!(err.contains("openai, anthropic, ollama, offline"), "{err}");
        assert!(model_from_spec("gpt-4o").is_err());
        assert!(model_from_spec("openai:").is_err());
    }
}
