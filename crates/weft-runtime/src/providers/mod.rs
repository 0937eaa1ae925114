//! Model providers. Each provider folder has the same shape (after rust-genai): `mod.rs` holds
//! the public type and its [`Model`](crate::Model) impl, `request.rs` builds the wire request,
//! `response.rs` reads a whole response, `streamer.rs` reads a streamed one.
//!
//! | type | wire format | endpoint | key |
//! |---|---|---|---|
//! | [`OpenAIChat`] | Chat Completions | `OPENAI_BASE_URL` or `https://api.openai.com/v1` | `OPENAI_API_KEY` |
//! | [`Claude`] | Anthropic Messages | `ANTHROPIC_BASE_URL` or `https://api.anthropic.com` | `ANTHROPIC_API_KEY` |
//! | [`Ollama`] | Chat Completions | `OLLAMA_HOST` or `http://localhost:11434`, plus `/v1` | none |
//! | [`Offline`] | none: deterministic, no network | | |
//!
//! `OpenAIChat::new(id).base_url(..)` serves any OpenAI-compatible server (vLLM, LM Studio,
//! OpenRouter, Groq…). Setters override the environment; the environment is read when the
//! model first runs, so a missing key is reported then, naming the variable.

//!
//! Each HTTP provider is behind a Cargo feature of the same name (`openai`, `anthropic`,
//! `ollama`, all on by default); [`Offline`] is always there. A spec naming a provider that is
//! compiled out is an error that names the feature.

#[cfg(feature = "anthropic")]
pub mod anthropic;
mod env;
mod offline;
#[cfg(feature = "ollama")]
mod ollama;
// Ollama speaks the OpenAI wire format, so it builds on the OpenAI provider's code.
#[cfg(any(feature = "openai", feature = "ollama"))]
#[cfg_attr(not(feature = "openai"), allow(dead_code, unused_imports))]
pub mod openai;
mod spec;

crate::cfg_http! {
    mod events;
    mod settings;
    pub use settings::ApiKey;
    pub(crate) use settings::Settings;
}

#[cfg(all(test, feature = "openai", feature = "anthropic"))]
mod recorded;

#[cfg(feature = "anthropic")]
pub use anthropic::Claude;
pub use env::{model_from_env, DEFAULT_ANTHROPIC_MODEL, DEFAULT_OPENAI_MODEL};
pub use offline::Offline;
#[cfg(feature = "ollama")]
pub use ollama::Ollama;
#[cfg(feature = "openai")]
pub use openai::OpenAIChat;
pub use spec::{model_from_spec, IntoModel, KNOWN_PROVIDERS};
