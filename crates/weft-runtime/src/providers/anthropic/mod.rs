//! Anthropic Messages (`POST {base}/v1/messages`).

pub(crate) mod request;
pub(crate) mod response;
pub mod streamer;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};

use super::settings::provider_setters;
use super::Settings;
use crate::http;
use crate::model::{Model, ModelRequest, ModelResponse, ModelStream};
use crate::Result;

const PROVIDER: &str = "anthropic";
const KEY_VAR: &str = "ANTHROPIC_API_KEY";
const BASE_VAR: &str = "ANTHROPIC_BASE_URL";
const DEFAULT_BASE: &str = "https://api.anthropic.com";
/// The `anthropic-version` header weft speaks.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the Messages API; this is used when none is set.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// An Anthropic Claude model.
///
/// ```
/// use weft_runtime::Claude;
/// // Key from ANTHROPIC_API_KEY, endpoint from ANTHROPIC_BASE_URL, both read on first use.
/// let claude = Claude::new("claude-sonnet-4-5").max_tokens(1024);
/// ```
#[derive(Clone, Debug)]
pub struct Claude {
    settings: Settings,
}

impl Claude {
    /// A model with the given id; key and endpoint come from the environment.
    pub fn new(id: impl Into<String>) -> Self {
        Claude {
            settings: Settings::new(id),
        }
    }

    provider_setters!(settings);

    async fn send(&self, request: &ModelRequest, stream: bool) -> Result<reqwest::Response> {
        let key = self.settings.key(PROVIDER, KEY_VAR)?;
        let url = format!(
            "{}/v1/messages",
            self.settings.base_url(BASE_VAR, DEFAULT_BASE)
        );
        tracing::debug!(provider = PROVIDER, model = %self.settings.model_id, url = %http::loggable_url(&url), stream, "sending messages request");
        let http_request = self
            .settings
            .client()?
            .post(url)
            .header("x-api-key", http::secret_header(PROVIDER, key.expose())?)
            .header("anthropic-version", API_VERSION)
            .json(&request::body(&self.settings, request, stream));
        http::send(PROVIDER, http_request, self.settings.timeout).await
    }
}

impl Model for Claude {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn id(&self) -> &str {
        &self.settings.model_id
    }

    fn stream(&self, request: ModelRequest) -> ModelStream {
        let this = self.clone();
        let timeout = self.settings.timeout;
        let events = futures::stream::once(async move {
            let response = this.send(&request, true).await?;
            let answer_tool = request.output.map(|output| output.name);
            Ok::<_, crate::Error>(streamer::decode(
                response.bytes_stream(),
                move |err| http::transport_error(PROVIDER, &err, timeout),
                answer_tool,
            ))
        })
        .try_flatten();
        super::events::stall_timeout(PROVIDER, timeout, events).boxed()
    }

    fn complete(&self, request: ModelRequest) -> BoxFuture<'static, Result<ModelResponse>> {
        let this = self.clone();
        async move {
            let response = this.send(&request, false).await?;
            let body = response
                .bytes()
                .await
                .map_err(|err| http::transport_error(PROVIDER, &err, this.settings.timeout))?;
            response::parse(&body, request.output.as_ref().map(|o| o.name.as_str()))
        }
        .boxed()
    }
}
