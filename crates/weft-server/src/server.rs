//! [`Server`]: the builder that hosts workflow types and serves them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use schemars::JsonSchema;
use tokio::net::{TcpListener, ToSocketAddrs};
use tower_http::cors::CorsLayer;
use weft_runtime::workflow::WorkflowBuilder;
use weft_runtime::{Error, IntoStorage, Result, StorageRef, Workflow, WorkflowDefinition};

use crate::api::{self, AppState, Shared};
use crate::auth::ApiKeys;
use crate::hosted::{Hosted, HostedBuilder};
use crate::runs::RunTable;

/// How long, after the shutdown grace, a shutdown waits for connections to close by
/// themselves (their runs are interrupted by then) before it drops them.
const CONNECTION_DRAIN: Duration = Duration::from_secs(5);

/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// The default interval of `: ping` comments on an idle event stream.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a shutdown waits for runs in flight before it interrupts them (to be resumed by
/// the next start).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often an event stream of a run that another server runs reads the store for new
/// items (a store shared by many servers): the most a live item waits before it is sent.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Hosts workflows over HTTP (routes in the [crate docs](crate)).
///
/// ```no_run
/// # use weft_runtime as weft;
/// # fn doc<B>(research: fn() -> B) where B: weft::WorkflowBuilder + 'static, B::Workflow: weft::Workflow + 'static, <B::Workflow as weft::Workflow>::Input: schemars::JsonSchema {
/// # async {
/// use weft_server::Server;
///
/// let store = weft::MemoryStorage::new();
/// Server::new(store)
///     .workflow(research) // e.g. `ResearchWorkflow::builder`, or `|| MyWorkflow::builder().model(..)`
///     .serve("127.0.0.1:8080")
///     .await?;
/// # Ok::<(), weft::Error>(()) };
/// # }
/// ```
pub struct Server {
    storage: StorageRef,
    workflows: BTreeMap<String, Arc<dyn Hosted>>,
    keys: ApiKeys,
    cors: Option<CorsLayer>,
    body_limit: usize,
    keep_alive: Duration,
    resume_interrupted: bool,
    shutdown_grace: Duration,
    poll_interval: Duration,
    takeover_interval: Option<Duration>,
}

impl Server {
    /// A server keeping sessions, runs and event logs in `storage`, with the API keys in
    /// `WEFT_API_KEYS` (comma-separated), if that is set.
    pub fn new(storage: impl IntoStorage) -> Self {
        Server {
            storage: storage.into_storage(),
            workflows: BTreeMap::new(),
            keys: ApiKeys::from_env(),
            cors: None,
            body_limit: DEFAULT_BODY_LIMIT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            resume_interrupted: true,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            poll_interval: DEFAULT_POLL_INTERVAL,
            takeover_interval: None,
        }
    }

    /// Hosts the workflow that `make`'s builder builds: `make` is called for every run
    /// (each run gets its own instance) and returns the builder configured as you like
    /// (models, tools); the server sets the session, the user and the store. Its id in
    /// routes is the workflow's `NAME`; a second workflow with the same name replaces the
    /// first.
    ///
    /// `.workflow(ResearchWorkflow::builder)`, or
    /// `.workflow(|| ResearchWorkflow::builder().model(model.clone()))`.
    pub fn workflow<B, F>(mut self, make: F) -> Self
    where
        B: WorkflowBuilder + 'static,
        B::Workflow: Workflow + 'static,
        <B::Workflow as Workflow>::Input: JsonSchema,
        F: Fn() -> B + Send + Sync + 'static,
    {
        let name = <B::Workflow as WorkflowDefinition>::NAME.to_string();
        if self.workflows.contains_key(&name) {
            tracing::warn!(workflow = %name, "a workflow with this name was hosted already: replaced");
        }
        self.workflows
            .insert(name, Arc::new(HostedBuilder::new(make)));
        self
    }

    /// Adds API keys: with any key set, every `/v1` route and `/metrics` need
    /// `Authorization: Bearer <key>` (`401` otherwise). `/health` and the playground stay
    /// open.
    pub fn api_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let added = ApiKeys::new(keys.into_iter().map(Into::into));
        self.keys = self.keys.merged(&added);
        self
    }

    /// Answers cross-origin requests as `cors` says (off by default). For example
    /// `CorsLayer::new().allow_origin(["https://app.example".parse()?]).allow_headers(tower_http::cors::Any)`.
    pub fn cors(mut self, cors: CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The largest request body accepted (default [`DEFAULT_BODY_LIMIT`]); larger ones get
    /// `413`.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How often an idle event stream gets a `: ping` comment (default 15 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = interval;
        self
    }

    /// Whether the interrupted runs of the hosted workflows are resumed when the server
    /// starts (default: yes).
    pub fn resume_interrupted(mut self, resume: bool) -> Self {
        self.resume_interrupted = resume;
        self
    }

    /// How long a shutdown lets runs in flight finish before it interrupts them, to be
    /// resumed when the server starts again (default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How often an event stream of a run that another server runs reads the store for new
    /// items (default [`DEFAULT_POLL_INTERVAL`], 50 ms). Only a store shared by many servers
    /// (one with a lease, such as Postgres) has such runs.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// On a store shared by many servers (one with a lease, such as Postgres): how often the
    /// server looks for runs whose worker died or stalled (a claim that lapsed) or that a
    /// shutdown interrupted, and takes them over (default: half the store's lease). A run is
    /// taken over by one server only. Off with [`resume_interrupted(false)`](Self::resume_interrupted).
    pub fn takeover_interval(mut self, interval: Duration) -> Self {
        self.takeover_interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// The ids of the hosted workflows.
    pub fn workflow_ids(&self) -> impl Iterator<Item = &str> {
        self.workflows.keys().map(String::as_str)
    }

    /// Resumes the interrupted runs (unless turned off) and returns the app as an axum
    /// [`Router`], to serve yourself or to nest in a larger app. Runs it resumes or starts
    /// go on in Tokio tasks of the runtime this is called in.
    ///
    /// Serving it yourself, you do your own shutdown: runs still in flight when the runtime
    /// stops are recorded `cancelled` (their tasks are dropped), not `interrupted`, and are not
    /// resumed by the next start. [`bind`](Self::bind) and [`Bound::serve_until`] do the
    /// graceful shutdown that leaves them to be resumed.
    pub async fn into_router(self) -> Result<Router> {
        let (router, _) = self.prepare().await?;
        Ok(router)
    }

    async fn prepare(self) -> Result<(Router, Shared)> {
        let state: Shared = Arc::new(AppState {
            storage: self.storage,
            workflows: self.workflows,
            runs: RunTable::default(),
            keep_alive: self.keep_alive,
            poll_interval: self.poll_interval,
            shutting_down: AtomicBool::new(false),
        });
        if self.resume_interrupted {
            resume_interrupted(&state).await?;
            let every = self
                .takeover_interval
                .or_else(|| state.storage.lease().map(|lease| lease / 2));
            if let (Some(every), Some(_)) = (every, state.storage.lease()) {
                tokio::spawn(take_over_lapsed_runs(Arc::downgrade(&state), every));
            }
        }
        let mut router = api::router(Arc::clone(&state), self.keys, self.body_limit);
        if let Some(cors) = self.cors {
            router = router.layer(cors);
        }
        Ok((router, state))
    }

    /// Binds `addr` and serves until SIGINT or SIGTERM (see [`Bound::serve`]).
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<()> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|err| Error::Config(format!("could not listen: {err} (is the port free?)")))?;
        self.bind(listener).await?.serve().await
    }

    /// Takes `listener` (bind port 0 for a free port), resumes the interrupted runs (unless
    /// turned off) and returns the server ready to serve: print its
    /// [`local_addr`](Bound::local_addr), then [`serve`](Bound::serve).
    pub async fn bind(self, listener: TcpListener) -> Result<Bound> {
        let grace = self.shutdown_grace;
        let (router, state) = self.prepare().await?;
        Ok(Bound {
            listener,
            router,
            state,
            grace,
        })
    }
}

/// A [`Server`] with its listener and its interrupted runs resumed, ready to serve.
pub struct Bound {
    listener: TcpListener,
    router: Router,
    state: Shared,
    grace: Duration,
}

impl Bound {
    /// The address it listens on.
    pub fn local_addr(&self) -> Result<std::net::SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|err| Error::Config(format!("the listener has no address: {err}")))
    }

    /// Serves until SIGINT (Ctrl-C) or SIGTERM, then shuts down gracefully (see
    /// [`serve_until`](Self::serve_until)).
    pub async fn serve(self) -> Result<()> {
        self.serve_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: stops accepting
    /// connections, lets runs in flight (and their event streams) end within the shutdown
    /// grace, then interrupts those left so that the next start resumes them, and returns
    /// once every run is recorded.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let Bound {
            listener,
            router,
            state,
            grace,
        } = self;
        let (signalled_tx, signalled) = tokio::sync::watch::channel(false);
        let signal = {
            let state = Arc::clone(&state);
            async move {
                shutdown.await;
                state.shutting_down.store(true, Ordering::SeqCst);
                let _ = signalled_tx.send(true);
                tracing::info!(
                    grace_secs = grace.as_secs_f64(),
                    "shutting down: no new connections or runs; runs in flight get the grace period"
                );
                // Event streams end when their runs do: interrupt the runs left after the grace.
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    for handle in state.runs.handles() {
                        handle.interrupt();
                    }
                });
            }
        };
        // Events are small writes: without TCP_NODELAY, Nagle's algorithm holds each one back
        // until the client's delayed ACK (~40 ms on Linux).
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(error = %err, "could not set TCP_NODELAY");
            }
        });
        let serving = axum::serve(listener, router).with_graceful_shutdown(signal);
        // A client that stopped reading can keep its connection open long after its run was
        // interrupted: the shutdown waits for connections only so long.
        let deadline = async move {
            let mut signalled = signalled;
            let _ = signalled.wait_for(|signalled| *signalled).await;
            tokio::time::sleep(grace + CONNECTION_DRAIN).await;
        };
        let served = tokio::select! {
            served = serving => served,
            () = deadline => {
                tracing::warn!("connections still open after the shutdown grace: closing them");
                Ok(())
            }
        };
        // Runs without a connection (background runs) get the grace too.
        let handles = state.runs.handles();
        let waits = futures::future::join_all(handles.iter().map(|handle| handle.wait()));
        if tokio::time::timeout(grace, waits).await.is_err() {
            for handle in &handles {
                handle.interrupt();
            }
            futures::future::join_all(handles.iter().map(|handle| handle.wait())).await;
        }
        served.map_err(|err| Error::Config(format!("the server stopped: {err}")))
    }
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("local_addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// Resumes every interrupted run of a hosted workflow (oldest first), and on a shared store
/// every run whose claim lapsed; a run that cannot be resumed is logged and left as it is (a
/// run another server took first is not worth a warning).
async fn resume_interrupted(state: &Shared) -> Result<()> {
    for id in state.workflows.keys() {
        for run in state.storage.interrupted_runs(Some(id)).await? {
            if state.shutting_down.load(Ordering::SeqCst) {
                return Ok(());
            }
            if state.runs.get(&run.run_id).is_some() {
                continue;
            }
            let run_id = run.run_id.clone();
            match api::resume_run(state, run, None).await {
                Ok(_) => {
                    tracing::info!(run_id = %run_id, workflow = %id, "resumed an interrupted run")
                }
                Err(err) if err.code == "not_resumable" => {
                    tracing::debug!(run_id = %run_id, error = %err, "not resumed here (another server has it)")
                }
                Err(err) => {
                    tracing::warn!(run_id = %run_id, error = %err, "could not resume an interrupted run")
                }
            }
        }
    }
    Ok(())
}

/// Every `every`, takes over the runs of the hosted workflows left by a server that died,
/// stalled or shut down, until this server shuts down (or its state is gone).
async fn take_over_lapsed_runs(state: std::sync::Weak<AppState>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if state.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        if let Err(err) = resume_interrupted(&state).await {
            tracing::warn!(error = %err, "could not look for runs to take over; trying again");
        }
    }
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            futures::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = futures::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
