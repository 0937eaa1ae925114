//! Ollama through its OpenAI-compatible endpoint (`{OLLAMA_HOST}/v1/chat/completions`).

use futures::future::BoxFuture;

use super::openai::{Flavour, OpenAIChat};
use super::settings::provider_setters;
use crate::model::{Model, ModelRequest, ModelResponse, ModelStream};
use crate::Result;

const OLLAMA: Flavour = Flavour {
    provider: "ollama",
    key_var: None,
    base_var: "OLLAMA_HOST",
    default_base: "http://localhost:11434",
    path_prefix: "/v1",
    default_port: Some(11434),
};

/// A model served by Ollama. No key is needed; the host comes from `OLLAMA_HOST` (default
/// `http://localhost:11434`, a bare `host:port` works too) or `.base_url(host)`.
///
/// ```
/// use weft_runtime::Ollama;
/// let llama = Ollama::new("llama3.2").base_url("http://127.0.0.1:11434");
/// ```
#[derive(Clone, Debug)]
pub struct Ollama {
    inner: OpenAIChat,
}

impl Ollama {
    /// A model with the given id, e.g. `llama3.2`.
    pub fn new(id: impl Into<String>) -> Self {
        Ollama {
            inner: OpenAIChat::with_flavour(id, &OLLAMA),
        }
    }

    provider_setters!(inner.settings);
}

impl Model for Ollama {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn id(&self) -> &str {
        self.inner.id()
    }

    fn stream(&self, request: ModelRequest) -> ModelStream {
        self.inner.stream(request)
    }

    fn complete(&self, request: ModelRequest) -> BoxFuture<'static, Result<ModelResponse>> {
        self.inner.complete(request)
    }
}
