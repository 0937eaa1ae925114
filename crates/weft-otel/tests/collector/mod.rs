//! A fake OpenTelemetry Collector: OTLP/HTTP on 127.0.0.1, keeping every POST it gets.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Router;

/// One export request.
#[derive(Clone, Debug)]
pub struct Post {
    pub path: String,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Post {
    /// Whether the protobuf body holds `text` (strings are stored as UTF-8 bytes as is).
    pub fn mentions(&self, text: &str) -> bool {
        self.body
            .windows(text.len())
            .any(|window| window == text.as_bytes())
    }
}

#[derive(Clone)]
struct Shared {
    posts: Arc<Mutex<Vec<Post>>>,
    status: StatusCode,
}

/// The collector's URL and what it received.
pub struct Collector {
    pub url: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Collector {
    /// A collector answering every POST with 200 and an empty (valid) protobuf response.
    pub async fn start() -> Collector {
        Collector::answering(StatusCode::OK).await
    }

    /// A collector answering every POST with `status`.
    pub async fn answering(status: StatusCode) -> Collector {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            posts: posts.clone(),
            status,
        };
        let app = Router::new().fallback(receive).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Collector { url, posts }
    }

    /// The POSTs to `path` so far.
    pub fn posts_to(&self, path: &str) -> Vec<Post> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .filter(|post| post.path == path)
            .cloned()
            .collect()
    }
}

async fn receive(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    shared.posts.lock().unwrap().push(Post {
        path: uri.path().to_string(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        headers: headers.clone(),
        body: body.to_vec(),
    });
    (
        shared.status,
        [("content-type", "application/x-protobuf")],
        Vec::new(),
    )
}
