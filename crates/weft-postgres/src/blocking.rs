//! The synchronous calls (`save_blocking`, `read_session_blocking`), made from `Drop`, where
//! there may be no async executor, or the caller may be a thread of one (a current-thread
//! runtime, even) that must not wait on its own futures.
//!
//! They never touch the pool (whose connections are driven by the runtime that opened them):
//! a dedicated thread, started at the first call, owns a current-thread tokio runtime (built
//! on that thread) and a connection of its own (opened at its first job and again after it
//! was lost). The caller sends it the job over a channel and waits for the answer on
//! another, [`CALL_TIMEOUT`] at most. The thread ends when the last clone of the store is
//! dropped.
//!
//! Bounds, so that a `Drop` never hangs: the caller waits [`CALL_TIMEOUT`] at most; the thread
//! gives a job up at that same deadline (and a job whose caller gave up before it started is
//! not started at all); opening the connection is bounded by the connect timeout, and every
//! statement on it by the server's `statement_timeout` ([`STATEMENT_TIMEOUT`]).
//!
//! A job is tried once more on a new connection only when its connection failed before any of
//! its statements was sent (while connecting, checking the connection or preparing): a write
//! cut short after it was sent may have committed, and trying it again would report a
//! spurious `Conflict` or `Fenced` for what was in fact applied. So that a connection the
//! server closed since the last job (a restart, an idle timeout) is found out before, a save
//! first checks the connection (one empty query, on a path `Drop` takes once per run). A read
//! is tried again after a lost connection in any case.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls, Statement};
use weft_runtime::storage::{RunRecord, WorkflowSession};
use weft_runtime::{Error, Result};

use crate::error::{Failure, Outcome, Target};
use crate::tls::Tls;
use crate::{runs, sessions};

/// How long a caller waits for the thread's answer (and the thread works on its job) at most.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The `statement_timeout` of the thread's connection, unless the URL's `options` set one.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening the thread's connection (TCP, startup and login) may take.
const CONNECT_TIMEOUT: Duration = crate::builder::CONNECT_TIMEOUT;

/// What the thread is asked to do.
pub(crate) enum Request {
    /// `read_session_blocking`.
    ReadSession(String),
    /// `save_blocking`: the session (if any) and the run, in one transaction.
    Save(Box<(Option<WorkflowSession>, RunRecord)>),
}

impl Request {
    /// What it does, for error messages.
    fn doing(&self) -> String {
        match self {
            Request::ReadSession(session_id) => format!("read session `{session_id}`"),
            Request::Save(save) => format!("save run `{}`", save.1.run_id),
        }
    }
}

/// A request, where its answer goes, and when its caller stops waiting for it.
struct Job {
    request: Request,
    reply: mpsc::SyncSender<Result<Option<WorkflowSession>>>,
    deadline: Instant,
}

/// The handle on the thread, shared by a store's clones.
pub(crate) struct Blocking {
    config: tokio_postgres::Config,
    /// The pool's TLS mode, so that this connection is made as theirs are.
    tls: Tls,
    target: Target,
    /// How long a call waits at most ([`CALL_TIMEOUT`]).
    timeout: Duration,
    /// The thread's queue, once started.
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Blocking {
    /// A handle; the thread starts at the first call.
    pub(crate) fn new(config: tokio_postgres::Config, tls: Tls, target: Target) -> Self {
        Blocking::with_timeout(config, tls, target, CALL_TIMEOUT)
    }

    /// A handle whose calls wait `timeout` at most.
    fn with_timeout(
        mut config: tokio_postgres::Config,
        tls: Tls,
        target: Target,
        timeout: Duration,
    ) -> Self {
        // The URL's own `statement_timeout`, later in the options, wins.
        let option = format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
        let options = match config.get_options() {
            Some(options) if !options.trim().is_empty() => format!("{option} {options}"),
            _ => option,
        };
        config.options(options);
        Blocking {
            config,
            tls,
            target,
            timeout,
            sender: Mutex::new(None),
        }
    }

    /// Runs `request` on the thread and waits for its answer, `timeout` at most.
    pub(crate) fn call(&self, request: Request) -> Result<Option<WorkflowSession>> {
        let doing = request.doing();
        let (reply, answer) = mpsc::sync_channel(1);
        let mut job = Job {
            request,
            reply,
            deadline: Instant::now() + self.timeout,
        };
        // A thread that stopped (it cannot, short of a panic) is started again, once.
        for _ in 0..2 {
            let sender = self.sender()?;
            match sender.send(job) {
                Ok(()) => {
                    // The thread answers by the deadline (it gives the job up then); the
                    // margin lets its answer, which knows more, come first.
                    return match answer.recv_timeout(self.timeout + self.timeout / 10) {
                        Ok(answer) => answer,
                        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Storage {
                            message: format!(
                                "weft-postgres' blocking worker did not {doing} within {:.1} s (PostgreSQL at {} slow or unreachable, or the worker busy with earlier calls); it may or may not have been applied",
                                self.timeout.as_secs_f64(),
                                self.target.address()
                            ),
                            source: None,
                        }),
                        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Storage {
                            message: format!(
                                "weft-postgres' blocking worker thread stopped before it could {doing}; it may or may not have been applied"
                            ),
                            source: None,
                        }),
                    };
                }
                Err(mpsc::SendError(back)) => {
                    job = back;
                    *self.lock() = None;
                }
            }
        }
        Err(Error::Storage {
            message: "weft-postgres' blocking worker thread could not be started".to_string(),
            source: None,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<Job>>> {
        // The guarded value is replaced whole: a poisoned lock holds nothing half-written.
        self.sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The thread's queue, starting the thread if needed.
    fn sender(&self) -> Result<mpsc::Sender<Job>> {
        let mut sender = self.lock();
        if let Some(sender) = sender.as_ref() {
            return Ok(sender.clone());
        }
        let started = start(self.config.clone(), self.tls.clone(), self.target.clone())?;
        *sender = Some(started.clone());
        Ok(started)
    }
}

/// Starts the thread, and waits until its runtime is built.
///
/// The runtime is built on the thread itself: built here, a runtime the thread could not take
/// (it failed to spawn) would be dropped on the caller's thread, which panics inside an async
/// context, where `Drop` code often runs.
fn start(config: tokio_postgres::Config, tls: Tls, target: Target) -> Result<mpsc::Sender<Job>> {
    let failed = |err: std::io::Error| Error::Storage {
        message:
            "could not start weft-postgres' blocking worker thread (out of threads or memory?)"
                .to_string(),
        source: Some(Box::new(err)),
    };
    let (sender, jobs) = mpsc::channel::<Job>();
    let (ready, started) = mpsc::sync_channel::<std::io::Result<()>>(1);
    std::thread::Builder::new()
        .name("weft-postgres-blocking".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready.send(Err(err));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            let mut worker = Worker {
                config,
                tls,
                target,
                client: None,
                connection: None,
                statements: HashMap::new(),
            };
            // Ends when every sender is gone: the last clone of the store was dropped.
            while let Ok(job) = jobs.recv() {
                let answer = runtime.block_on(worker.run(&job.request, job.deadline));
                // The caller waits for it; if it went away there is no one to tell.
                let _ = job.reply.send(answer);
            }
            runtime.block_on(worker.reset());
        })
        .map_err(failed)?;
    match started.recv_timeout(CONNECT_TIMEOUT) {
        Ok(Ok(())) => Ok(sender),
        Ok(Err(err)) => Err(failed(err)),
        Err(_) => Err(Error::Storage {
            message: "weft-postgres' blocking worker thread did not start".to_string(),
            source: None,
        }),
    }
}

/// The statements a job runs, prepared on the connection.
enum Prepared {
    Read(Statement),
    Save {
        upsert: Option<Statement>,
        put: Statement,
    },
}

/// The thread's state: its connection and its prepared statements.
struct Worker {
    config: tokio_postgres::Config,
    tls: Tls,
    target: Target,
    client: Option<Client>,
    /// The task driving the connection.
    connection: Option<JoinHandle<()>>,
    statements: HashMap<&'static str, Statement>,
}

impl Worker {
    /// Does the job, by `deadline` at most; a job whose caller already gave up is not started.
    async fn run(
        &mut self,
        request: &Request,
        deadline: Instant,
    ) -> Result<Option<WorkflowSession>> {
        let doing = request.doing();
        if Instant::now() >= deadline {
            return Err(Error::Storage {
                message: format!(
                    "weft-postgres' blocking worker did not start to {doing} before its caller stopped waiting; nothing of it was applied"
                ),
                source: None,
            });
        }
        let limit = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(limit, self.handle(request)).await {
            Ok(answer) => answer,
            Err(_) => {
                // Cut short at an unknown point: the connection is closed (the server rolls
                // back whatever is not committed) and the next job opens another.
                self.reset().await;
                Err(Error::Storage {
                    message: format!(
                        "PostgreSQL at {} did not let weft-postgres' blocking worker {doing} in time; it may or may not have been applied",
                        self.target.address()
                    ),
                    source: None,
                })
            }
        }
    }

    async fn handle(&mut self, request: &Request) -> Result<Option<WorkflowSession>> {
        let answer = self.attempt(request).await;
        let answer = match answer {
            // Nothing of the job was sent: once more on a new connection.
            Err((Sent::No, Failure::Db(err))) if connection_failed(&err) => {
                tracing::debug!(error = %err, "weft-postgres' blocking connection failed; reconnecting");
                self.reset().await;
                self.attempt(request).await
            }
            // A read may be done again whatever happened.
            Err((Sent::Yes, Failure::Db(err)))
                if connection_failed(&err) && matches!(request, Request::ReadSession(_)) =>
            {
                self.reset().await;
                self.attempt(request).await
            }
            answer => answer,
        };
        match answer {
            Ok(answer) => Ok(answer),
            Err((_, failure)) => {
                if matches!(&failure, Failure::Db(err) if connection_failed(err)) {
                    // The connection failed: the next job opens another.
                    self.reset().await;
                }
                Err(failure.into_error(&self.target, &request.doing()))
            }
        }
    }

    /// One try: a live connection and the job's statements (nothing of the job sent), then
    /// the job.
    async fn attempt(
        &mut self,
        request: &Request,
    ) -> std::result::Result<Option<WorkflowSession>, (Sent, Failure)> {
        let prepared = self
            .prepare(request)
            .await
            .map_err(|failure| (Sent::No, failure))?;
        self.execute(request, prepared)
            .await
            .map_err(|failure| (Sent::Yes, failure))
    }

    /// Connects (checking the connection there before a save) and prepares the job's
    /// statements.
    async fn prepare(&mut self, request: &Request) -> Outcome<Prepared> {
        // A write goes only on a connection that just answered.
        self.connect(matches!(request, Request::Save(_))).await?;
        Ok(match request {
            Request::ReadSession(_) => Prepared::Read(self.statement(sessions::READ).await?),
            Request::Save(save) => Prepared::Save {
                upsert: match &save.0 {
                    Some(_) => Some(self.statement(sessions::UPSERT).await?),
                    None => None,
                },
                put: self.statement(runs::PUT).await?,
            },
        })
    }

    async fn execute(
        &mut self,
        request: &Request,
        prepared: Prepared,
    ) -> Outcome<Option<WorkflowSession>> {
        match (request, prepared) {
            (Request::ReadSession(session_id), Prepared::Read(statement)) => {
                let client = self.client()?;
                sessions::read(client, &statement, session_id).await
            }
            (Request::Save(save), Prepared::Save { upsert, put }) => {
                let (session, run) = &**save;
                let client = self.client_mut()?;
                let tx = client.transaction().await?;
                let stored = match (session, upsert) {
                    (Some(session), Some(upsert)) => {
                        let fence = Some((run.run_id.as_str(), run.fence));
                        let upserted = sessions::upsert(&tx, &upsert, session.clone(), fence)
                            .await?
                            .into_result(&session.session_id, fence);
                        match upserted {
                            Ok(stored) => Some(stored),
                            Err(err) => {
                                tx.rollback().await?;
                                return Err(err.into());
                            }
                        }
                    }
                    _ => None,
                };
                if let Err(err) = runs::put(&tx, &put, run).await {
                    tx.rollback().await?;
                    return Err(err);
                }
                tx.commit().await?;
                Ok(stored)
            }
            _ => Err(Failure::Weft(Error::Storage {
                message: "weft-postgres' blocking worker prepared the wrong statements".to_string(),
                source: None,
            })),
        }
    }

    /// Opens the connection if there is none (or it was lost); with `check`, makes sure the
    /// one there still answers (one empty query).
    async fn connect(&mut self, check: bool) -> Outcome<()> {
        if let Some(client) = self.client.as_ref().filter(|client| !client.is_closed()) {
            if check {
                client.simple_query("").await?;
            }
            return Ok(());
        }
        self.reset().await;
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, open(&self.config, &self.tls))
            .await
            .map_err(|_| {
                Failure::Weft(Error::Storage {
                    message: format!(
                        "could not connect to PostgreSQL at {} within {} s: is it running and reachable?",
                        self.target.address(),
                        CONNECT_TIMEOUT.as_secs()
                    ),
                    source: None,
                })
            })?;
        let (client, connection) = connected?;
        self.connection = Some(connection);
        self.client = Some(client);
        Ok(())
    }

    /// Drops the connection (closing it) and its statements.
    async fn reset(&mut self) {
        self.client = None;
        self.statements.clear();
        if let Some(connection) = self.connection.take() {
            connection.abort();
            let _ = connection.await;
        }
    }

    /// The connection (opened by [`connect`](Self::connect)).
    fn client(&self) -> Outcome<&Client> {
        self.client.as_ref().ok_or_else(not_connected)
    }

    fn client_mut(&mut self) -> Outcome<&mut Client> {
        self.client.as_mut().ok_or_else(not_connected)
    }

    /// `sql` prepared on the connection, once per connection.
    async fn statement(&mut self, sql: &'static str) -> Outcome<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(sql).await?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// Opens a connection (plain or TLS, as `tls` says) and spawns the task driving it.
async fn open(
    config: &tokio_postgres::Config,
    tls: &Tls,
) -> std::result::Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    Ok(match tls {
        Tls::Plain => {
            let (client, connection) = config.connect(NoTls).await?;
            (client, drive(connection))
        }
        Tls::Rustls(connector) => {
            let (client, connection) = config.connect(connector.clone()).await?;
            (client, drive(connection))
        }
    })
}

/// Spawns the task driving a connection.
fn drive(
    connection: impl std::future::Future<Output = std::result::Result<(), tokio_postgres::Error>>
        + Send
        + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "weft-postgres' blocking connection ended");
        }
    })
}

/// Whether a failed try had sent any statement of its job.
enum Sent {
    No,
    Yes,
}

/// Whether `err` is the connection failing (rather than a statement): no SQLSTATE (I/O, the
/// connection closed), a connection exception (class 08), or the server ending the session
/// (57P01 to 57P05: shutdown, crash, terminated by an administrator or idle timeout).
fn connection_failed(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        None => true,
        Some(code) => code.code().starts_with("08") || code.code().starts_with("57P"),
    }
}

fn not_connected() -> Failure {
    Failure::Weft(Error::Storage {
        message: "weft-postgres' blocking worker has no connection".to_string(),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "server" that takes connections and never says a word: the worst an overloaded
    /// server or a broken network does. (Its thread outlives the test; the process ends it.)
    fn silent_server() -> std::net::SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
        });
        address
    }

    fn blocking(address: std::net::SocketAddr, timeout: Duration) -> Blocking {
        let url = format!("postgres://weft:secret@{address}/weft");
        let config: tokio_postgres::Config = url.parse().unwrap();
        let target = Target::of(&config);
        Blocking::with_timeout(config, Tls::Plain, target, timeout)
    }

    fn assert_timely_storage_error(blocking: &Blocking) {
        let started = Instant::now();
        let result = blocking.call(Request::ReadSession("s".to_string()));
        let elapsed = started.elapsed();
        match result {
            Err(Error::Storage { message, .. }) => {
                assert!(
                    message.contains("read session `s`")
                        && message.contains("may or may not have been applied"),
                    "{message}"
                );
                assert!(!message.contains("secret"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    }

    /// A server that never answers: a call fails after its timeout with a clear
    /// `Error::Storage` instead of hanging, and the worker is free again for the next call
    /// (which fails the same way, in the same time); from a plain thread and from inside a
    /// current-thread runtime, as a `Drop` in async code calls it.
    #[test]
    fn a_server_that_never_answers_is_a_timely_storage_error() {
        let blocking = blocking(silent_server(), Duration::from_millis(300));
        assert_timely_storage_error(&blocking);
        assert_timely_storage_error(&blocking);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async { assert_timely_storage_error(&blocking) });
    }

    #[test]
    fn the_statement_timeout_goes_before_the_urls_own_options() {
        let config: tokio_postgres::Config = "postgres://u@h/d?options=-c%20statement_timeout%3D5s"
            .parse()
            .unwrap();
        let target = Target::of(&config);
        let blocking = Blocking::new(config, Tls::Plain, target);
        assert_eq!(
            blocking.config.get_options(),
            Some("-c statement_timeout=30000 -c statement_timeout=5s")
        );
        let config: tokio_postgres::Config = "postgres://u@h/d".parse().unwrap();
        let target = Target::of(&config);
        let blocking = Blocking::new(config, Tls::Plain, target);
        assert_eq!(
            blocking.config.get_options(),
            Some("-c statement_timeout=30000")
        );
    }
}
