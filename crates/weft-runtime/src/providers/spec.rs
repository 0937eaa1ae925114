//! Model spec strings (`"openai:gpt-4o"`) and [`IntoModel`], which lets `Agent::builder().model(..)`
//! take a provider value, a shared model or a spec string alike.

use std::sync::Arc;

use crate::model::{Model, ModelRef};
use crate::{Error, Result};

/// The providers a model spec may name, in the order error messages list them. A provider whose
/// Cargo feature is off is still known: naming it is an error that says which feature to enable.
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
    let provider = provider.trim();
    if let Some(model) = built_in(provider, id) {
        return Ok(model);
    }
    Err(refuse(if KNOWN_PROVIDERS.contains(&provider) {
        format!("weft was built without the `{provider}` provider; enable weft's `{provider}` Cargo feature")
    } else {
        format!(
            "unknown provider `{provider}`; known providers: {}",
            KNOWN_PROVIDERS.join(", ")
        )
    }))
}

/// The model `provider:id` names, if that provider is compiled in.
fn built_in(provider: &str, id: &str) -> Option<ModelRef> {
    Some(match provider {
        #[cfg(feature = "openai")]
        "openai" => Arc::new(super::OpenAIChat::new(id)),
        #[cfg(feature = "anthropic")]
        "anthropic" => Arc::new(super::Claude::new(id)),
        #[cfg(feature = "ollama")]
        "ollama" => Arc::new(super::Ollama::new(id)),
        "offline" => Arc::new(super::Offline::new(id)),
        _ => return None,
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
    fn every_built_in_provider_parses() {
        let built_in = [
            ("openai", cfg!(feature = "openai")),
            ("anthropic", cfg!(feature = "anthropic")),
            ("ollama", cfg!(feature = "ollama")),
            ("offline", true),
        ];
        assert_eq!(built_in.map(|(name, _)| name), KNOWN_PROVIDERS);
        for (provider, enabled) in built_in {
            match model_from_spec(&format!("{provider}:some-model")) {
                Ok(model) => {
                    assert!(enabled, "{provider} parsed without its feature");
                    assert_eq!((model.provider(), model.id()), (provider, "some-model"));
                }
                Err(err) => {
                    assert!(!enabled, "{provider}: {err}");
                    assert!(err.to_string().contains("Cargo feature"), "{err}");
                }
            }
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
