//! OpenAI Chat Completions, and every server that speaks it (Ollama, vLLM, LM Studio,
//! OpenRouter, Groq…).

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod streamer;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};

use super::settings::provider_setters;
use super::Settings;
use crate::http;
use crate::model::{Model, ModelRequest, ModelResponse, ModelStream};
use crate::Result;

/// Where an OpenAI-compatible provider lives and how it authenticates.
#[derive(Debug)]
pub(crate) struct Flavour {
    /// Short provider name used in errors and logs.
    pub provider: &'static str,
    /// The key variable; `None` where no key is needed.
    pub key_var: Option<&'static str>,
    /// The variable that overrides the endpoint.
    pub base_var: &'static str,
    /// The endpoint when neither setter nor variable is set.
    pub default_base: &'static str,
    /// Appended to the endpoint before `/chat/completions`.
    pub path_prefix: &'static str,
    /// The port of an endpoint given without one (`OLLAMA_HOST=0.0.0.0` means port 11434,
    /// as for Ollama itself); `None` keeps the scheme's default.
    pub default_port: Option<u16>,
}

const OPENAI: Flavour = Flavour {
    provider: "openai",
    key_var: Some("OPENAI_API_KEY"),
    base_var: "OPENAI_BASE_URL",
    default_base: "https://api.openai.com/v1",
    path_prefix: "",
    default_port: None,
};

/// An OpenAI chat model (`POST {base}/chat/completions`).
///
/// ```
/// use weft_runtime::OpenAIChat;
/// // Key from OPENAI_API_KEY, endpoint from OPENAI_BASE_URL, both read on first use.
/// let gpt = OpenAIChat::new("gpt-4o").temperature(0.2);
/// // Any OpenAI-compatible server:
/// let local = OpenAIChat::new("qwen2.5").base_url("http://127.0.0.1:8000/v1").api_key("none");
/// ```
#[derive(Clone, Debug)]
pub struct OpenAIChat {
    pub(crate) settings: Settings,
    pub(crate) flavour: &'static Flavour,
}

impl OpenAIChat {
    /// A model with the given id; key and endpoint come from the environment.
    pub fn new(id: impl Into<String>) -> Self {
        OpenAIChat::with_flavour(id, &OPENAI)
    }

    pub(crate) fn with_flavour(id: impl Into<String>, flavour: &'static Flavour) -> Self {
        OpenAIChat {
            settings: Settings::new(id),
            flavour,
        }
    }

    provider_setters!(settings);

    fn url(&self) -> String {
        let base = self
            .settings
            .base_url(self.flavour.base_var, self.flavour.default_base);
        let base = if base.contains("://") {
            base
        } else {
            format!("http://{base}")
        };
        let base = match self.flavour.default_port {
            Some(port) if !has_port(&base) => with_port(&base, port),
            _ => base,
        };
        let path = format!("{}/chat/completions", self.flavour.path_prefix);
        super::settings::endpoint(&base, &path)
    }

    /// Sends the request; a success status gives the response, anything else a typed error.
    async fn send(&self, request: &ModelRequest, stream: bool) -> Result<reqwest::Response> {
        let provider = self.flavour.provider;
        let key = match self.flavour.key_var {
            Some(var) => Some(self.settings.key(provider, var)?),
            None => self.settings.api_key.clone(),
        };
        let url = self.url();
        tracing::debug!(provider, model = %self.settings.model_id, url = %http::loggable_url(&url), stream, "sending chat completion");
        let mut http_request =
            self.settings
                .client()?
                .post(url)
                .json(&request::body(&self.settings, request, stream));
        if let Some(key) = key {
            let bearer = format!("Bearer {}", key.expose());
            http_request = http_request.header(
                reqwest::header::AUTHORIZATION,
                http::secret_header(provider, &bearer)?,
            );
        }
        http::send(provider, http_request, self.settings.timeout).await
    }
}

/// The `[user[:password]@]host[:port]` part of `scheme://authority/path?query`.
fn authority(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// Whether `scheme://[user@]host[:port]` names a port (IPv6 hosts are bracketed).
fn has_port(base: &str) -> bool {
    let authority = authority(base);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host_end = host.rfind(']').unwrap_or(0);
    host[host_end..].contains(':')
}

/// `base` with `:port` after its host.
fn with_port(base: &str, port: u16) -> String {
    let authority = authority(base);
    let start = base.len() - base.split_once("://").map_or(base, |(_, rest)| rest).len();
    let end = start + authority.len();
    format!("{}:{port}{}", &base[..end], &base[end..])
}

impl Model for OpenAIChat {
    fn provider(&self) -> &'static str {
        self.flavour.provider
    }

    fn id(&self) -> &str {
        &self.settings.model_id
    }

    fn stream(&self, request: ModelRequest) -> ModelStream {
        let this = self.clone();
        let provider = self.flavour.provider;
        let timeout = self.settings.timeout;
        let events = futures::stream::once(async move {
            let response = this.send(&request, true).await?;
            let bytes = response.bytes_stream();
            Ok::<_, crate::Error>(streamer::decode(provider, bytes, move |err| {
                http::transport_error(provider, &err, timeout)
            }))
        })
        .try_flatten();
        super::events::stall_timeout(provider, timeout, events).boxed()
    }

    fn complete(&self, request: ModelRequest) -> BoxFuture<'static, Result<ModelResponse>> {
        let this = self.clone();
        async move {
            let provider = this.flavour.provider;
            let response = this.send(&request, false).await?;
            let body = http::read_body(provider, response, this.settings.timeout).await?;
            response::parse(provider, &body)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_flavours_default_port_only_when_they_name_none() {
        let ollama = Flavour {
            default_port: Some(11434),
            path_prefix: "/v1",
            ..OPENAI
        };
        let url = |base: &str, flavour: &'static Flavour| {
            OpenAIChat::with_flavour("m", flavour).base_url(base).url()
        };
        let ollama: &'static Flavour = Box::leak(Box::new(ollama));
        assert_eq!(
            url("0.0.0.0", ollama),
            "http://0.0.0.0:11434/v1/chat/completions"
        );
        assert_eq!(
            url("http://box:8000/", ollama),
            "http://box:8000/v1/chat/completions"
        );
        assert_eq!(
            url("http://[::1]", ollama),
            "http://[::1]:11434/v1/chat/completions"
        );
        assert_eq!(url("[::1]:9", ollama), "http://[::1]:9/v1/chat/completions");
        assert_eq!(
            url("http://me:key@box?k=v", ollama),
            "http://me:key@box:11434/v1/chat/completions?k=v",
            "user info is not a port, and the query stays last"
        );
        assert_eq!(
            url("https://api.x.ai/v1", &OPENAI),
            "https://api.x.ai/v1/chat/completions"
        );
    }
}
