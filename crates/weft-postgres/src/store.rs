//! [`PostgresStorage`] and its [`WorkflowStorage`] implementation: each call takes a pooled
//! connection, a statement prepared once per connection, and (but for the few noted) one
//! round trip.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use futures::future::BoxFuture;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;
use weft_runtime::storage::{
    JournalEntry, LogHead, LogLimits, LoggedEvent, RunClaim, RunRecord, SessionFilter,
    SessionListing, WorkflowSession, WorkflowStorage,
};
use weft_runtime::Result;

use crate::blocking::{Blocking, Request};
use crate::builder::PostgresStorageBuilder;
use crate::error::{self, Target};
use crate::log::Prepared;
use crate::{claims, log, runs, sessions};

/// A store in a PostgreSQL database, shared by every process that connects to it: sessions,
/// runs, their event logs and journals, and the claims that let many workers share the runs.
/// Clones share one connection pool.
///
/// Its `Debug` shows where it connects, never the password. See the crate docs for the
/// schema and how each call is done.
#[derive(Clone)]
pub struct PostgresStorage {
    shared: Arc<Shared>,
}

/// What a store's clones share.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) blocking: Blocking,
    pub(crate) target: Target,
    pub(crate) schema: Option<String>,
    pub(crate) pool_size: usize,
    pub(crate) lease: Duration,
    pub(crate) limits: LogLimits,
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`)
    /// with the defaults: see [`builder`](Self::builder).
    pub async fn connect(url: &str) -> Result<PostgresStorage> {
        PostgresStorage::builder(url).connect().await
    }

    /// Configures a store of the database at `url` (pool size, lease, log limits, schema).
    pub fn builder(url: &str) -> PostgresStorageBuilder {
        PostgresStorageBuilder::new(url)
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        PostgresStorage { shared }
    }

    /// The schema the store's tables are in, if one was set
    /// ([`PostgresStorageBuilder::schema`]).
    pub fn schema(&self) -> Option<&str> {
        self.shared.schema.as_deref()
    }

    /// A pooled connection and `sql` prepared on it (once per connection).
    async fn prepared(
        &self,
        sql: &'static str,
        doing: impl Fn() -> String,
    ) -> Result<(Object, Statement)> {
        let client =
            self.shared.pool.get().await.map_err(|err| {
                error::pool(&self.shared.target, &self.shared.pool, &doing(), err)
            })?;
        let statement = client
            .prepare_cached(sql)
            .await
            .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
        Ok((client, statement))
    }

    /// Gives a failure its context.
    fn fail<'s>(
        &'s self,
        doing: impl Fn() -> String + 's,
    ) -> impl FnOnce(error::Failure) -> weft_runtime::Error + 's {
        move |failure| failure.into_error(&self.shared.target, &doing())
    }

    async fn upsert(
        &self,
        session: WorkflowSession,
        run: Option<(&str, u64)>,
    ) -> Result<WorkflowSession> {
        let session_id = session.session_id.clone();
        let doing = || format!("write session `{session_id}`");
        let (client, statement) = self.prepared(sessions::UPSERT, doing).await?;
        sessions::upsert(&**client, &statement, session, run)
            .await
            .map_err(self.fail(doing))?
            .into_result(&session_id, run)
    }

    async fn list(&self, filter: SessionFilter) -> Result<SessionListing> {
        let doing = || "list sessions".to_string();
        let (client, statement) = self
            .prepared(sessions::list_statement(&filter), doing)
            .await?;
        let query = |limit: Option<i64>, offset: i64| {
            let client = &client;
            let statement = &statement;
            let filter = &filter;
            async move {
                let mut params: Vec<&(dyn ToSql + Sync)> = vec![&limit, &offset];
                if let Some(workflow_id) = &filter.workflow_id {
                    params.push(workflow_id);
                }
                if let Some(user_id) = &filter.user_id {
                    params.push(user_id);
                }
                client.query(statement, &params).await
            }
        };
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        let rows = query(limit, offset)
            .await
            .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
        let listing = sessions::listing(&rows);
        if listing.skipped == 0 {
            return Ok(listing);
        }
        // The page met unreadable records, which took places in it: the listing is read
        // whole and paged here, where they take none. (One before the page, among the rows
        // `offset` skips, still takes a place there: the page then starts one later.)
        let rows = query(None, 0)
            .await
            .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
        Ok(sessions::page(&rows, &filter))
    }

    async fn append(
        &self,
        run_id: &str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> Result<()> {
        let doing = || format!("append to the log of run `{run_id}`");
        match log::prepare(run_id, &self.shared.limits, &events, &journal)? {
            Prepared::Batch(batch) => {
                let (client, statement) = self.prepared(log::APPEND, doing).await?;
                log::append(
                    &**client, &statement, run_id, fence, &batch, &events, &journal,
                )
                .await
                .map_err(self.fail(doing))
            }
            Prepared::Unfit => {
                let (client, statement) = self.prepared(log::FENCE_AND_HEAD, doing).await?;
                log::refuse_unfit(&**client, &statement, run_id, fence, &events, &journal)
                    .await
                    .map_err(self.fail(doing))
            }
        }
    }
}

impl WorkflowStorage for PostgresStorage {
    fn read_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<WorkflowSession>>> {
        Box::pin(async move {
            let doing = || format!("read session `{session_id}`");
            let (client, statement) = self.prepared(sessions::READ, doing).await?;
            sessions::read(&**client, &statement, session_id)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn upsert_session(&self, session: WorkflowSession) -> BoxFuture<'_, Result<WorkflowSession>> {
        Box::pin(self.upsert(session, None))
    }

    fn delete_session<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let doing = || format!("delete session `{session_id}`");
            let (client, statement) = self.prepared(sessions::DELETE, doing).await?;
            let row = client
                .query_one(&statement, &[&session_id])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            Ok(row.get(0))
        })
    }

    fn list_sessions(&self, filter: SessionFilter) -> BoxFuture<'_, Result<Vec<WorkflowSession>>> {
        Box::pin(async move { Ok(self.list(filter).await?.sessions) })
    }

    fn list_sessions_counted(
        &self,
        filter: SessionFilter,
    ) -> BoxFuture<'_, Result<SessionListing>> {
        Box::pin(self.list(filter))
    }

    fn put_run(&self, run: RunRecord) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let doing = || format!("write run `{}`", run.run_id);
            let (client, statement) = self.prepared(runs::PUT, doing).await?;
            runs::put(&**client, &statement, &run)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn read_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        Box::pin(async move {
            let doing = || format!("read the runs of session `{session_id}`");
            let (client, statement) = self.prepared(runs::READ_RUNS, doing).await?;
            let rows = client
                .query(&statement, &[&session_id])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            runs::from_rows(&rows).map_err(self.fail(doing))
        })
    }

    fn count_runs<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<usize>> {
        Box::pin(async move {
            let doing = || format!("count the runs of session `{session_id}`");
            let (client, statement) = self.prepared(runs::COUNT, doing).await?;
            let row = client
                .query_one(&statement, &[&session_id])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    fn read_run<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>>> {
        Box::pin(async move {
            let doing = || format!("read run `{run_id}`");
            let (client, statement) = self.prepared(runs::READ_RUN, doing).await?;
            let row = client
                .query_opt(&statement, &[&run_id])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            row.map(|row| runs::from_row(&row))
                .transpose()
                .map_err(self.fail(doing))
        })
    }

    fn append_log<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        events: Vec<LoggedEvent>,
        journal: Vec<JournalEntry>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.append(run_id, fence, events, journal))
    }

    fn reserve_seqs<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        _seq: u64,
    ) -> BoxFuture<'a, Result<u64>> {
        // Every append is durable once it returns (committed), so a crash loses no item of
        // the log and no seq, logged or to come, can ever name a second item: every seq is
        // covered. `u64::MAX` says so, and the log writer then never asks again for this run
        // (it asks whenever an item's seq is above what it was last told), instead of one
        // round trip per item. Nothing is written (`log_head` keeps `reserved_seq` 0, so a
        // resumed run continues right after its last item); the fence is still checked.
        Box::pin(async move {
            let doing = || format!("check the claim on run `{run_id}`");
            let (client, statement) = self.prepared(claims::FENCE, doing).await?;
            claims::check(&**client, &statement, run_id, fence)
                .await
                .map_err(self.fail(doing))?;
            Ok(u64::MAX)
        })
    }

    fn log_head<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<LogHead>> {
        Box::pin(async move {
            let doing = || format!("read the log head of run `{run_id}`");
            let (client, statement) = self.prepared(log::HEAD, doing).await?;
            log::head(&**client, &statement, run_id)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn read_events<'a>(
        &'a self,
        run_id: &'a str,
        after_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<LoggedEvent>>> {
        Box::pin(async move {
            let doing = || format!("read the log of run `{run_id}`");
            let (client, statement) = self.prepared(log::READ_EVENTS, doing).await?;
            log::read_events(&**client, &statement, run_id, after_seq, limit)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn read_journal<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<JournalEntry>>> {
        Box::pin(async move {
            let doing = || format!("read the journal of run `{run_id}`");
            let (client, statement) = self.prepared(log::READ_JOURNAL, doing).await?;
            log::read_journal(&**client, &statement, run_id)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn interrupted_runs<'a>(
        &'a self,
        workflow_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        Box::pin(async move {
            let doing = || "list the interrupted runs".to_string();
            let sql = match workflow_id {
                Some(_) => runs::INTERRUPTED_OF,
                None => runs::INTERRUPTED,
            };
            let (client, statement) = self.prepared(sql, doing).await?;
            let rows = match workflow_id {
                Some(workflow_id) => client.query(&statement, &[&workflow_id]).await,
                None => client.query(&statement, &[]).await,
            }
            .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            runs::from_rows(&rows).map_err(self.fail(doing))
        })
    }

    fn lease(&self) -> Option<Duration> {
        Some(self.shared.lease)
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a str,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<Option<RunClaim>>> {
        Box::pin(async move {
            let doing = || format!("claim run `{run_id}`");
            let (client, statement) = self.prepared(claims::CLAIM, doing).await?;
            claims::claim(&**client, &statement, run_id, owner, lease)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn renew_claim<'a>(
        &'a self,
        run_id: &'a str,
        fence: u64,
        lease: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let doing = || format!("renew the claim on run `{run_id}`");
            let (client, renew) = self.prepared(claims::RENEW, doing).await?;
            let read_fence = client
                .prepare_cached(claims::FENCE)
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            claims::renew(&**client, &renew, &read_fence, run_id, fence, lease)
                .await
                .map_err(self.fail(doing))
        })
    }

    fn request_cancel<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let doing = || format!("ask for run `{run_id}` to be cancelled");
            let (client, statement) = self.prepared(claims::REQUEST_CANCEL, doing).await?;
            let marked = client
                .query_opt(&statement, &[&run_id])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            Ok(marked.is_some())
        })
    }

    fn cancel_requested<'a>(&'a self, run_id: &'a str, fence: u64) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let doing = || format!("check for a cancel of run `{run_id}`");
            let (client, statement) = self.prepared(claims::CANCEL_REQUESTED, doing).await?;
            let fence = i64::try_from(fence).unwrap_or(i64::MAX);
            let row = client
                .query_opt(&statement, &[&run_id, &fence])
                .await
                .map_err(|err| error::database(&self.shared.target, &doing(), err))?;
            Ok(row.is_some_and(|row| row.get::<_, bool>(0)))
        })
    }

    fn upsert_session_for_run<'a>(
        &'a self,
        session: WorkflowSession,
        run_id: &'a str,
        fence: u64,
    ) -> BoxFuture<'a, Result<WorkflowSession>> {
        Box::pin(self.upsert(session, Some((run_id, fence))))
    }

    fn read_session_blocking(&self, session_id: &str) -> Result<Option<WorkflowSession>> {
        self.shared
            .blocking
            .call(Request::ReadSession(session_id.to_string()))
    }

    fn save_blocking(
        &self,
        session: Option<WorkflowSession>,
        run: RunRecord,
    ) -> Result<Option<WorkflowSession>> {
        self.shared
            .blocking
            .call(Request::Save(Box::new((session, run))))
    }
}

impl fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("PostgresStorage")
            .field("target", &shared.target.to_string())
            .field("schema", &shared.schema)
            .field("pool_size", &shared.pool_size)
            .field("lease", &shared.lease)
            .field("limits", &shared.limits)
            .finish_non_exhaustive()
    }
}
