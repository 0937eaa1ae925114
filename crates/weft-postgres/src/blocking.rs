//! The synchronous calls (`save_blocking`, `read_session_blocking`), made from `Drop`, where
//! there may be no async executor, or the caller may be a thread of one (a current-thread
//! runtime, even) that must not wait on its own futures.
//!
//! They never touch the pool (whose connections are driven by the runtime that opened them):
//! a dedicated thread, started at the first call, owns a current-thread tokio runtime and a
//! connection of its own (opened at its first job and again after it was lost). The caller
//! sends it the job over a channel and waits for the answer on another. The thread ends when
//! the last clone of the store is dropped.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Mutex;

use tokio_postgres::{Client, NoTls, Statement};
use weft_runtime::storage::{RunRecord, WorkflowSession};
use weft_runtime::{Error, Result};

use crate::error::{Failure, Outcome, Target};
use crate::{runs, sessions};

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

/// A request and where its answer goes.
struct Job {
    request: Request,
    reply: mpsc::SyncSender<Result<Option<WorkflowSession>>>,
}

/// The handle on the thread, shared by a store's clones.
pub(crate) struct Blocking {
    config: tokio_postgres::Config,
    target: Target,
    /// The thread's queue, once started.
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Blocking {
    /// A handle; the thread starts at the first call.
    pub(crate) fn new(config: tokio_postgres::Config, target: Target) -> Self {
        Blocking {
            config,
            target,
            sender: Mutex::new(None),
        }
    }

    /// Runs `request` on the thread and waits for its answer.
    pub(crate) fn call(&self, request: Request) -> Result<Option<WorkflowSession>> {
        let (reply, answer) = mpsc::sync_channel(1);
        let mut job = Job { request, reply };
        // A thread that stopped (it cannot, short of a panic) is started again, once.
        for _ in 0..2 {
            let sender = self.sender()?;
            match sender.send(job) {
                Ok(()) => {
                    return answer.recv().unwrap_or_else(|_| {
                        Err(Error::Storage {
                            message: "weft-postgres' blocking worker thread stopped before answering; the call may or may not have been applied".to_string(),
                            source: None,
                        })
                    });
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
        let started = start(self.config.clone(), self.target.clone())?;
        *sender = Some(started.clone());
        Ok(started)
    }
}

/// Starts the thread.
fn start(config: tokio_postgres::Config, target: Target) -> Result<mpsc::Sender<Job>> {
    let failed = |err: std::io::Error| Error::Storage {
        message:
            "could not start weft-postgres' blocking worker thread (out of threads or memory?)"
                .to_string(),
        source: Some(Box::new(err)),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    let (sender, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("weft-postgres-blocking".to_string())
        .spawn(move || {
            let mut worker = Worker {
                config,
                target,
                client: None,
                statements: HashMap::new(),
            };
            // Ends when every sender is gone: the last clone of the store was dropped.
            while let Ok(job) = jobs.recv() {
                let answer = runtime.block_on(worker.handle(job.request));
                // The caller waits for it; if it went away there is no one to tell.
                let _ = job.reply.send(answer);
            }
        })
        .map_err(failed)?;
    Ok(sender)
}

/// The thread's state: its connection and its prepared statements.
struct Worker {
    config: tokio_postgres::Config,
    target: Target,
    client: Option<Client>,
    statements: HashMap<&'static str, Statement>,
}

impl Worker {
    async fn handle(&mut self, request: Request) -> Result<Option<WorkflowSession>> {
        let answer = match self.attempt(&request).await {
            // The connection was lost since the last job (a server restart, an idle
            // timeout): once more on a new one. Nothing of a transaction cut short is kept.
            Err(Failure::Db(err)) if err.is_closed() => {
                self.client = None;
                self.attempt(&request).await
            }
            answer => answer,
        };
        answer.map_err(|failure| failure.into_error(&self.target, &request.doing()))
    }

    async fn attempt(&mut self, request: &Request) -> Outcome<Option<WorkflowSession>> {
        match request {
            Request::ReadSession(session_id) => {
                let statement = self.statement(sessions::READ).await?;
                let client = self.client()?;
                sessions::read(client, &statement, session_id).await
            }
            Request::Save(save) => {
                let (session, run) = &**save;
                let upsert = match session {
                    Some(_) => Some(self.statement(sessions::UPSERT).await?),
                    None => None,
                };
                let put = self.statement(runs::PUT).await?;
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
        }
    }

    /// Opens the connection if there is none (or it was lost).
    async fn connect(&mut self) -> Outcome<()> {
        if self
            .client
            .as_ref()
            .is_some_and(|client| !client.is_closed())
        {
            return Ok(());
        }
        self.statements.clear();
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "weft-postgres' blocking connection ended");
            }
        });
        self.client = Some(client);
        Ok(())
    }

    /// The connection (opened by [`statement`](Self::statement)).
    fn client(&self) -> Outcome<&Client> {
        self.client.as_ref().ok_or_else(not_connected)
    }

    fn client_mut(&mut self) -> Outcome<&mut Client> {
        self.client.as_mut().ok_or_else(not_connected)
    }

    /// `sql` prepared on the connection (opening it if needed), once per connection.
    async fn statement(&mut self, sql: &'static str) -> Outcome<Statement> {
        self.connect().await?;
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(sql).await?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

fn not_connected() -> Failure {
    Failure::Weft(Error::Storage {
        message: "weft-postgres' blocking worker has no connection".to_string(),
        source: None,
    })
}
