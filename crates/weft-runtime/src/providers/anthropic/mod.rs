//! Anthropic Messages (`POST {base}/v1/messages`).

mod output;
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

pub use output::{supports_native_output, StructuredOutput};

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
/// Typed answers use the Messages API's native JSON outputs on models that have them (see
/// [`supports_native_output`]), else a tool whose input is the answer;
/// [`Claude::structured_output`] forces either.
///
/// ```
/// use weft_runtime::Claude;
/// use weft_runtime::providers::anthropic::StructuredOutput;
/// // Key from ANTHROPIC_API_KEY, endpoint from ANTHROPIC_BASE_URL, both read on first use.
/// let claude = Claude::new("claude-sonnet-4-5").max_tokens(1024);
/// let older = Claude::new("claude-opus-4-1").structured_output(StructuredOutput::AnswerTool);
/// ```
#[derive(Clone, Debug)]
pub struct Claude {
    settings: Settings,
    structured_output: StructuredOutput,
}

impl Claude {
    /// A model with the given id; key and endpoint come from the environment.
    pub fn new(id: impl Into<String>) -> Self {
        Claude {
            settings: Settings::new(id),
            structured_output: StructuredOutput::Auto,
        }
    }

    provider_setters!(settings);

    /// How typed answers are asked for (default [`StructuredOutput::Auto`]: natively where the
    /// model has it).
    pub fn structured_output(mut self, mode: StructuredOutput) -> Self {
        self.structured_output = mode;
        self
    }

    /// The name of the answer tool of `request`, when its typed answer is asked for with one
    /// rather than natively.
    fn answer_tool(&self, request: &ModelRequest) -> Option<String> {
        request
            .output
            .as_ref()
            .filter(|output| {
                !self
                    .structured_output
                    .native(&self.settings.model_id, output)
            })
            .map(|output| output.name.clone())
    }

    async fn send(&self, request: &ModelRequest, stream: bool) -> Result<reqwest::Response> {
        let key = self.settings.key(PROVIDER, KEY_VAR)?;
        let url = super::settings::endpoint(
            &self.settings.base_url(BASE_VAR, DEFAULT_BASE),
            "/v1/messages",
        );
        tracing::debug!(provider = PROVIDER, model = %self.settings.model_id, url = %http::loggable_url(&url), stream, "sending messages request");
        let http_request = self
            .settings
            .client()?
            .post(url)
            .header("x-api-key", http::secret_header(PROVIDER, key.expose())?)
            .header("anthropic-version", API_VERSION)
            .json(&request::body(
                &self.settings,
                request,
                stream,
                self.answer_tool(request).is_none(),
            ));
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
            let answer_tool = this.answer_tool(&request);
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
            let body = http::read_body(PROVIDER, response, this.settings.timeout).await?;
            response::parse(&body, this.answer_tool(&request).as_deref())
        }
        .boxed()
    }
}
