//! Choosing a model from the environment: the one function every example uses.

use super::{model_from_spec, Offline};
use crate::model::ModelRef;
use crate::Result;

/// The OpenAI model [`model_from_env`] picks when only `OPENAI_API_KEY` is set.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o";
/// The Anthropic model [`model_from_env`] picks when only `ANTHROPIC_API_KEY` is set.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";

/// Picks a model from the environment, in this order:
/// 1. `WEFT_MODEL`, a model spec such as `anthropic:claude-sonnet-4-5` or `ollama:llama3.2`;
/// 2. OpenAI ([`DEFAULT_OPENAI_MODEL`]) if `OPENAI_API_KEY` is set (and the `openai` feature
///    is on);
/// 3. Anthropic ([`DEFAULT_ANTHROPIC_MODEL`]) if `ANTHROPIC_API_KEY` is set (and the
///    `anthropic` feature is on);
/// 4. otherwise the deterministic [`Offline`] model, with a one-line notice on stderr (once
///    per process).
///
/// A malformed `WEFT_MODEL` is an error, never silently ignored.
pub fn model_from_env() -> Result<ModelRef> {
    let set = |var: &str| std::env::var(var).is_ok_and(|value| !value.trim().is_empty());
    if let Ok(spec) = std::env::var("WEFT_MODEL") {
        if !spec.trim().is_empty() {
            return model_from_spec(spec.trim());
        }
    }
    if cfg!(feature = "openai") && set("OPENAI_API_KEY") {
        return model_from_spec(&format!("openai:{DEFAULT_OPENAI_MODEL}"));
    }
    if cfg!(feature = "anthropic") && set("ANTHROPIC_API_KEY") {
        return model_from_spec(&format!("anthropic:{DEFAULT_ANTHROPIC_MODEL}"));
    }
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        eprintln!(
            "weft: no WEFT_MODEL, OPENAI_API_KEY or ANTHROPIC_API_KEY set; using the offline model (canned, deterministic answers)"
        );
    });
    Ok(std::sync::Arc::new(Offline::default()))
}
