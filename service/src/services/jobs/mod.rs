//! The durable job queue: one table for work that must happen after a
//! request and survive a crash or restart. Jobs are written in the same
//! transaction as the change that causes them (an outbox), so none is lost
//! and none runs for a change that rolled back.
//!
//! Claiming: PostgreSQL's `FOR UPDATE SKIP LOCKED` lets several servers
//! take disjoint jobs; on SQLite the single claiming statement runs under
//! the database's write lock. A claim is a lease: a job whose worker died
//! (its lease ran out while RUNNING) is claimed again. Failures are retried
//! with exponential backoff and jitter up to `max_attempts`, then the job is
//! DEAD with its last error.

pub mod registry;
pub mod worker;

use chrono::{DateTime, Duration, Utc};
use entities::job;
use rand::RngExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, Set, Statement,
};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::{
    error::AppResult,
    metrics::JobsDue,
    services::signals::{JOBS_CHANNEL, notify},
};

pub use registry::Registry;
pub use worker::{JobError, JobResult};

pub use entities::job::JobStatus;

/// Attempts a job gets; `JOB_MAX_ATTEMPTS` may lower it for a server.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

/// The most attempts any job is queued with: a message's, which the
/// server's `MAIL_MAX_ATTEMPTS` then caps.
pub const MOST_ATTEMPTS: i32 = 100;

/// What a job does; the payload carries its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    ProvisionApp,
    SyncAppAccount,
    DeliverWebhook,
    CloseProposal,
    SettleContribution,
    ApplyStripeEvent,
    ReconcilePayments,
    SendMail,
    SyncCollection,
    CancelCollection,
    DeprovisionApp,
    ChargeRent,
    CloseFundApplication,
    CollectLoanRepayment,
}

impl Kind {
    pub const ALL: [Self; 14] = [
        Self::ProvisionApp,
        Self::SyncAppAccount,
        Self::DeliverWebhook,
        Self::CloseProposal,
        Self::SettleContribution,
        Self::ApplyStripeEvent,
        Self::ReconcilePayments,
        Self::SendMail,
        Self::SyncCollection,
        Self::CancelCollection,
        Self::DeprovisionApp,
        Self::ChargeRent,
        Self::CloseFundApplication,
        Self::CollectLoanRepayment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProvisionApp => "provision_app",
            Self::SyncAppAccount => "sync_app_account",
            Self::DeliverWebhook => "deliver_webhook",
            Self::CloseProposal => "close_proposal",
            Self::SettleContribution => "settle_contribution",
            Self::ApplyStripeEvent => "apply_stripe_event",
            Self::ReconcilePayments => "reconcile_payments",
            Self::SendMail => "send_mail",
            Self::SyncCollection => "sync_collection",
            Self::CancelCollection => "cancel_collection",
            Self::DeprovisionApp => "deprovision_app",
            Self::ChargeRent => "charge_rent",
            Self::CloseFundApplication => "close_fund_application",
            Self::CollectLoanRepayment => "collect_loan_repayment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A job's arguments: stored as its JSON payload under its kind's name,
/// and read back once, typed, before it runs. Payloads queued before a
/// change must still parse, so a field is renamed only with a migration.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    const KIND: Kind;
}

/// The payload text a job is stored with. Payloads are compared as text
/// (to find a job already queued), so one job always encodes the same way:
/// the fields in the order they are declared.
pub fn encode<J: Job>(job: &J) -> String {
    // Serialising plain structs of ids and strings cannot fail.
    serde_json::to_string(job).unwrap_or_default()
}

/// A stored job's payload, typed; a job whose payload does not parse can
/// never run.
pub fn payload<J: Job>(job: &job::Model) -> Result<J, JobError> {
    serde_json::from_str(&job.payload).map_err(|e| {
        JobError::Permanent(format!(
            "the {} job's payload does not parse: {e}",
            J::KIND.as_str()
        ))
    })
}

/// Queues a job on `db`, which should be the transaction of the change that
/// causes it. On PostgreSQL the workers are woken when it commits.
pub async fn enqueue<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    run_at: DateTime<Utc>,
) -> AppResult<job::Model> {
    let job = new_job(J::KIND, encode(job), run_at).insert(db).await?;
    notify(db, JOBS_CHANNEL, "").await?;
    Ok(job)
}

/// Rows per multi-row insert, well inside SQLite's limit on parameters.
const ENQUEUE_CHUNK: usize = 500;

/// Queues many jobs of one kind at once (one insert per chunk, one wake-up).
pub async fn enqueue_many<J: Job>(
    db: &impl ConnectionTrait,
    jobs: impl IntoIterator<Item = J>,
    run_at: DateTime<Utc>,
) -> AppResult<()> {
    let rows: Vec<job::ActiveModel> = jobs
        .into_iter()
        .map(|j| new_job(J::KIND, encode(&j), run_at))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    for chunk in rows.chunks(ENQUEUE_CHUNK) {
        job::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    notify(db, JOBS_CHANNEL, "").await
}

fn new_job(kind: Kind, payload: String, run_at: DateTime<Utc>) -> job::ActiveModel {
    let now = Utc::now();
    job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload),
        status: Set(JobStatus::Pending),
        attempts: Set(0),
        max_attempts: Set(match kind {
            Kind::SendMail => MOST_ATTEMPTS,
            _ => DEFAULT_MAX_ATTEMPTS,
        }),
        run_at: Set(run_at),
        locked_at: Set(None),
        locked_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        traceparent: Set(crate::trace_context::current_traceparent()),
    }
}

/// Claims up to `limit` due jobs for `worker`: pending ones whose time has
/// come, and running ones whose lease ran out (their worker died).
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    limit: u64,
    lease: std::time::Duration,
) -> AppResult<Vec<job::Model>> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let stale = now - Duration::from_std(lease).unwrap_or(Duration::minutes(5));
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, locked_at = $1, locked_by = $2, updated_at = $1
         WHERE id IN (
           SELECT id FROM jobs
           WHERE (status = 'PENDING' AND run_at <= $1) OR (status = 'RUNNING' AND locked_at < $3)
           ORDER BY run_at LIMIT {limit}{lock})
         RETURNING *"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.into(), worker.into(), stale.into()],
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| job::Model::from_query_result(r, ""))
        .collect::<Result<_, _>>()?)
}

/// Marks a job done, if this worker still holds it.
pub async fn succeed(db: &impl ConnectionTrait, job: &job::Model, worker: &str) -> AppResult<()> {
    let now = Utc::now();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE jobs SET status = 'DONE', finished_at = $1, updated_at = $1, last_error = NULL
         WHERE id = $2 AND locked_by = $3 AND status = 'RUNNING'",
        [now.into(), job.id.into(), worker.into()],
    ))
    .await?;
    Ok(())
}

/// Records a failure: the job waits its backoff and runs again, or, out of
/// attempts, is DEAD. Returns whether it is dead.
pub async fn fail(
    db: &impl ConnectionTrait,
    job: &job::Model,
    worker: &str,
    error: &str,
    retry_base: std::time::Duration,
) -> AppResult<bool> {
    let now = Utc::now();
    let dead = job.attempts >= job.max_attempts;
    let (status, run_at, finished) = if dead {
        (JobStatus::Dead, now, Some(now))
    } else {
        (
            JobStatus::Pending,
            now + backoff(job.attempts, retry_base),
            None,
        )
    };
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE jobs SET status = $1, run_at = $2, finished_at = $3, last_error = $4, updated_at = $5,
           locked_at = NULL, locked_by = NULL
         WHERE id = $6 AND locked_by = $7 AND status = 'RUNNING'",
        [
            status.into(),
            run_at.into(),
            finished.into(),
            error.chars().take(2000).collect::<String>().into(),
            now.into(),
            job.id.into(),
            worker.into(),
        ],
    ))
    .await?;
    Ok(dead)
}

/// Hands a job this worker holds back to the queue (on shutdown): due at
/// once, unlocked, and the attempt it was claimed for not counted, since
/// it did not fail. Other workers are woken for it.
pub async fn release(db: &impl ConnectionTrait, job: &job::Model, worker: &str) -> AppResult<()> {
    let now = Utc::now();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE jobs SET status = 'PENDING', run_at = $1, updated_at = $1,
           attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
           locked_at = NULL, locked_by = NULL
         WHERE id = $2 AND locked_by = $3 AND status = 'RUNNING'",
        [now.into(), job.id.into(), worker.into()],
    ))
    .await?;
    notify(db, JOBS_CHANNEL, "").await
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped at an
/// hour, then a random point in its upper half, so retries of many jobs
/// that failed together spread out.
pub fn backoff(attempt: i32, base: std::time::Duration) -> Duration {
    let exponent = attempt.clamp(1, 20) - 1;
    let full = (base.as_millis() as u64)
        .saturating_mul(1u64 << exponent)
        .min(3_600_000);
    let jittered = full / 2 + rand::rng().random_range(0..=full / 2);
    Duration::milliseconds(jittered as i64)
}

/// Rows removed per pruning statement, so no statement holds locks long.
const PRUNE_BATCH: u64 = 5_000;

/// Deletes `DONE` jobs finished before `cutoff`, a batch at a time; returns
/// how many went. What a job did is recorded elsewhere (the audit trail,
/// webhook deliveries, the app's state), so finished jobs are only queue
/// bookkeeping. `DEAD` jobs stay for inspection, and provisioning jobs stay
/// because an operator's callback names its job.
pub async fn prune(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let mut total = 0;
    loop {
        let removed = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "DELETE FROM jobs WHERE id IN (
                       SELECT id FROM jobs
                       WHERE status = 'DONE' AND finished_at < $1 AND kind <> $2
                       LIMIT {PRUNE_BATCH})"
                ),
                [cutoff.into(), Kind::ProvisionApp.as_str().into()],
            ))
            .await?
            .rows_affected();
        total += removed;
        if removed < PRUNE_BATCH {
            return Ok(total);
        }
    }
}

/// The payload texts (see [`encode`]) of the jobs of a kind that wait or
/// run already.
pub async fn pending_payloads<J: Job>(
    db: &impl ConnectionTrait,
) -> AppResult<std::collections::HashSet<String>> {
    let kind = J::KIND;
    Ok(job::Entity::find()
        .select_only()
        .column(job::Column::Payload)
        .filter(job::Column::Kind.eq(kind.as_str()))
        .filter(job::Column::Status.is_in([JobStatus::Pending, JobStatus::Running]))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Queues each of `jobs` at its time unless one like it waits or runs
/// already: the start-up sweep that gives what should have a job (one
/// that gave up, say) a new one. Run on several servers at once it only
/// queues a job twice, which every such job tolerates. How many it queued.
pub async fn enqueue_missing<J: Job>(
    db: &impl ConnectionTrait,
    jobs: impl IntoIterator<Item = (J, DateTime<Utc>)>,
) -> AppResult<usize> {
    let pending = pending_payloads::<J>(db).await?;
    let mut queued = 0;
    for (job, at) in jobs {
        if !pending.contains(&encode(&job)) {
            enqueue(db, &job, at).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues `job` at `at` unless one like it waits already (held, as
/// [`lock_waiting`] holds it, until the caller's transaction ends): a job
/// that queues its own next run, where one waiting run is enough.
pub async fn enqueue_unless_waiting<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if lock_waiting(db, std::slice::from_ref(job))
        .await?
        .is_empty()
    {
        enqueue(db, job, at).await?;
    }
    Ok(())
}

/// Which of these jobs (as payload texts) wait already, not yet
/// claimed. On PostgreSQL those rows stay locked until the caller's
/// transaction ends, so no worker starts them on facts that transaction is
/// still changing (a claim skips locked rows). Jobs already running are not
/// counted: they may have read the old facts, so the caller queues anew.
pub async fn lock_waiting<J: Job>(
    db: &impl ConnectionTrait,
    jobs: &[J],
) -> AppResult<std::collections::HashSet<String>> {
    let kind = J::KIND;
    let payloads: Vec<String> = jobs.iter().map(encode).collect();
    let mut waiting = std::collections::HashSet::new();
    for chunk in payloads.chunks(ENQUEUE_CHUNK) {
        let mut query = job::Entity::find()
            .select_only()
            .column(job::Column::Payload)
            .filter(job::Column::Kind.eq(kind.as_str()))
            .filter(job::Column::Status.eq(JobStatus::Pending))
            .filter(job::Column::Payload.is_in(chunk.iter().cloned()));
        if db.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        waiting.extend(query.into_tuple::<String>().all(db).await?);
    }
    Ok(waiting)
}

/// Pending jobs whose time has come, for the metrics: how many of each
/// kind (every kind of the queue, due or not; kinds only another version
/// of the server knows as one `_other`) and how long the oldest has
/// waited. One grouped statement on the status and time index, so its
/// answer is no longer than the list of kinds however long the queue.
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<JobsDue> {
    let rows: Vec<(String, i64, DateTime<Utc>)> = job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column_as(job::Column::Id.count(), "due")
        .column_as(job::Column::RunAt.min(), "oldest")
        .filter(job::Column::Status.eq(JobStatus::Pending))
        .filter(job::Column::RunAt.lte(now))
        .group_by(job::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_kind: Vec<(String, i64)> = Kind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), 0))
        .collect();
    let mut oldest: Option<DateTime<Utc>> = None;
    for (kind, count, run_at) in rows {
        let label = Kind::parse(&kind).map_or(crate::metrics::OTHER, Kind::as_str);
        match by_kind.iter_mut().find(|(k, _)| k == label) {
            Some((_, due)) => *due += count,
            None => by_kind.push((label.to_owned(), count)),
        }
        oldest = Some(oldest.map_or(run_at, |o| o.min(run_at)));
    }
    let oldest_due_seconds =
        oldest.map_or(0.0, |o| (now - o).num_milliseconds().max(0) as f64 / 1000.0);
    Ok(JobsDue {
        by_kind,
        oldest_due_seconds,
    })
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<job::Model>> {
    Ok(job::Entity::find_by_id(id).one(db).await?)
}

/// For the payload types' own tests: a job is stored exactly as the
/// payloads queued before it was typed, so jobs already in a queue are
/// still found (by their text) and still run.
#[cfg(test)]
pub fn assert_stored_as<J: Job + std::fmt::Debug + PartialEq>(job: J, stored: serde_json::Value) {
    assert_eq!(
        encode(&job),
        stored.to_string(),
        "{} payload",
        J::KIND.as_str()
    );
    let row = job::Model {
        id: Uuid::nil(),
        kind: J::KIND.as_str().to_owned(),
        payload: stored.to_string(),
        status: JobStatus::Pending,
        attempts: 0,
        max_attempts: 1,
        run_at: Utc::now(),
        locked_at: None,
        locked_by: None,
        last_error: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        finished_at: None,
        traceparent: None,
    };
    assert_eq!(payload::<J>(&row).ok(), Some(job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_jittered_within_bounds() {
        let base = std::time::Duration::from_millis(1000);
        for attempt in 1..=5 {
            let full = 1000i64 << (attempt - 1);
            for _ in 0..50 {
                let d = backoff(attempt, base).num_milliseconds();
                assert!((full / 2..=full).contains(&d), "attempt {attempt}: {d}");
            }
        }
        assert!(backoff(40, base).num_milliseconds() <= 3_600_000);
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}
