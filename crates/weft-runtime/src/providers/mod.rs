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

pub mod anthropic;
mod events;
mod offline;
mod ollama;
pub mod openai;
#[cfg(test)]
mod recorded;
mod settings;

pub use anthropic::Claude;
pub use offline::Offline;
pub use ollama::Ollama;
pub use openai::OpenAIChat;
pub use settings::ApiKey;
pub(crate) use settings::Settings;
