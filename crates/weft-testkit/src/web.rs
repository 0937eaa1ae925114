//! Web pages the fake server serves on `GET`, for testing web tools (search, article reading)
//! without the internet: HTML, any other content type, error statuses, slow or oversized
//! bodies.

use std::time::Duration;

/// A page served on `GET` at a path. `{base}` anywhere in the body is replaced with the
/// server's `http://127.0.0.1:<port>` when served, and `{base_encoded}` with the same,
/// percent-encoded (as in DuckDuckGo's redirect links), so fixture pages can link to each
/// other.
///
/// ```
/// use weft_testkit::Page;
/// let article = Page::html("<html><title>Sled</title><body><p>…</p></body></html>");
/// let missing = Page::html("<h1>Not found</h1>").status(404);
/// let pdf = Page::bytes("application/pdf", b"%PDF-1.7".to_vec());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
    pub(crate) headers: Vec<(String, String)>,
}

impl Page {
    /// An HTML page (`text/html; charset=utf-8`, status 200).
    pub fn html(body: impl Into<String>) -> Self {
        Page::bytes("text/html; charset=utf-8", body.into().into_bytes())
    }

    /// A body of any content type (status 200).
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Self {
        Page {
            status: 200,
            content_type: content_type.to_string(),
            body,
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    /// Answers with this status instead of 200.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a response header (`location` for a redirect, say). `{base}` in the value is
    /// replaced as in the body.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Waits this long before answering (for timeouts).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The body with `{base}` and `{base_encoded}` replaced.
    pub(crate) fn body_for(&self, base: &str) -> Vec<u8> {
        match std::str::from_utf8(&self.body) {
            Ok(text) if text.contains("{base") => {
                let encoded = base.replace(':', "%3A").replace('/', "%2F");
                text.replace("{base_encoded}", &encoded)
                    .replace("{base}", base)
                    .into_bytes()
            }
            _ => self.body.clone(),
        }
    }
}
