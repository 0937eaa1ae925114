//! [`EndOnUnaddressedError`]: an HTTP session that ends when the server rejects a request
//! without saying which.
//!
//! A server that cannot read a request (a restarted server that does not know the session,
//! for one: the reference servers answer `400` with a JSON-RPC error and no `id`) gives an
//! error no pending request can be matched to, so the request would wait forever. This
//! wrapper ends the session instead: every pending request then fails as a broken
//! connection, and the connection opens a new session and sends it again.

use std::future::Future;

use rmcp::model::{JsonRpcError, JsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::RoleClient;

/// A transport that ends at the first error naming no request.
pub(crate) struct EndOnUnaddressedError<T> {
    inner: T,
    server: String,
    ended: bool,
}

impl<T> EndOnUnaddressedError<T> {
    pub fn new(inner: T, server: &str) -> Self {
        EndOnUnaddressedError {
            inner,
            server: server.to_string(),
            ended: false,
        }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for EndOnUnaddressedError<T> {
    type Error = T::Error;

    fn name() -> std::borrow::Cow<'static, str> {
        "streamable HTTP".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        if self.ended {
            return None;
        }
        let message = self.inner.receive().await?;
        if let JsonRpcMessage::Error(JsonRpcError {
            id: None, error, ..
        }) = &message
        {
            tracing::info!(
                server = %self.server,
                code = error.code.0,
                message = %error.message,
                "the MCP server rejected a request without naming it; ending the session"
            );
            self.ended = true;
            return None;
        }
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
