//! The worker every server runs: it claims due jobs, runs them a few at a
//! time, and sleeps until a job is committed (PostgreSQL's NOTIFY, heard by
//! [`crate::services::signals`]) or the poll interval passes.

use std::sync::Arc;

use entities::job;
use tokio::sync::Notify;
use tracing::Instrument;

use super::{Kind, Registry, claim, fail, release, succeed};
use crate::{metrics::JobOutcome, state::AppState, trace_context};

/// Why a run did not finish the job.
#[derive(Debug)]
pub enum JobError {
    /// Worth another try later (the other side was down, a timeout).
    Retry(String),
    /// Will never work (the job's object is gone); the job dies now.
    Permanent(String),
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            Self::Retry(m) | Self::Permanent(m) => m,
        }
    }
}

impl From<crate::error::AppError> for JobError {
    fn from(e: crate::error::AppError) -> Self {
        if let crate::error::AppError::Internal(cause) = &e {
            tracing::error!(error = ?cause, "job failed on an internal error");
        }
        Self::Retry(e.message())
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        crate::error::AppError::from(e).into()
    }
}

pub type JobResult = Result<(), JobError>;

/// Runs the worker loop until shutdown, each job by the runner `registry`
/// holds for its kind; the task ends once the jobs it held are finished or
/// handed back.
pub fn spawn(
    state: AppState,
    wake: Arc<Notify>,
    registry: Arc<Registry>,
) -> tokio::task::JoinHandle<()> {
    state.metrics.job_kinds(Kind::ALL.map(Kind::as_str));
    tokio::spawn(async move {
        let worker = state.worker_id.clone();
        let config = state.config.clone();
        let shutdown = state.shutdown.clone();
        let mut last_prune: Option<tokio::time::Instant> = None;
        while !shutdown.is_triggered() {
            if let Some(retention) = config.job_retention
                && last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY)
            {
                last_prune = Some(tokio::time::Instant::now());
                prune_finished(&state, retention).await;
            }
            match claim(&state.db, &worker, config.job_batch, config.job_lease).await {
                Ok(jobs) if !jobs.is_empty() => {
                    futures::future::join_all(
                        jobs.iter().map(|j| run(&state, &registry, j, &worker)),
                    )
                    .await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "claiming jobs failed"),
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(config.job_poll_interval) => {}
                () = shutdown.triggered() => {}
            }
        }
        tracing::info!("job worker stopped");
    })
}

/// How often a worker removes finished jobs past their retention.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

async fn prune_finished(state: &AppState, retention: std::time::Duration) {
    let cutoff = chrono::Utc::now()
        - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
    match super::prune(&state.db, cutoff).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "finished jobs past their retention removed"),
        Err(e) => tracing::error!(error = ?e, "removing finished jobs failed"),
    }
}

/// Runs a job, and records its outcome, inside its span when traces are
/// exported: a child of the span that queued it.
async fn run(state: &AppState, registry: &Registry, job: &job::Model, worker: &str) {
    let span = job_span(job);
    run_job(state, registry, job, worker).instrument(span).await;
}

fn job_span(job: &job::Model) -> tracing::Span {
    if !trace_context::enabled() {
        return tracing::Span::none();
    }
    let kind = Kind::parse(&job.kind).map_or(crate::metrics::OTHER, Kind::as_str);
    let span = tracing::info_span!(
        "job",
        otel.name = kind,
        otel.kind = "consumer",
        job.kind = kind,
        job.id = %job.id,
        job.attempt = job.attempts,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(parent) = &job.traceparent {
        trace_context::set_remote_parent(&span, parent, None);
    }
    span
}

async fn run_job(state: &AppState, registry: &Registry, job: &job::Model, worker: &str) {
    // A server may allow fewer attempts than the job was queued with.
    let mut job = job.clone();
    let cap = if job.kind == Kind::SendMail.as_str() {
        state.config.mail_max_attempts
    } else {
        state.config.job_max_attempts
    };
    job.max_attempts = job.max_attempts.min(cap);
    let job = &job;
    // A kind only another version of the server knows is counted as other.
    let kind = Kind::parse(&job.kind).map_or(crate::metrics::OTHER, Kind::as_str);
    // On shutdown the job may still run for the grace period; cut off then,
    // it goes back to the queue for another worker, at once. Recording an
    // outcome that is in is never cut off.
    let shutdown = state.shutdown.clone();
    let cut_off = async {
        shutdown.triggered().await;
        tokio::time::sleep(state.config.job_shutdown_grace).await;
    };
    let result = tokio::select! {
        result = work(state, registry, job) => result,
        () = cut_off => {
            match release(&state.db, job, worker).await {
                Ok(()) => {
                    state.metrics.job_run(kind, JobOutcome::HandedBack);
                    tracing::info!(job = %job.id, kind = %job.kind, "shutting down: job handed back to the queue");
                }
                Err(e) => tracing::error!(job = %job.id, error = ?e, "handing a job back failed; it runs again when its lease ends"),
            }
            return;
        }
    };
    let outcome = match result {
        Ok(()) => {
            let done = succeed(&state.db, job, worker).await;
            if done.is_ok() {
                state.metrics.job_run(kind, JobOutcome::Succeeded);
            }
            done.map(|()| None)
        }
        Err(e) => {
            tracing::Span::current().record("otel.status_code", "ERROR");
            let mut failing = job.clone();
            if matches!(e, JobError::Permanent(_)) {
                failing.attempts = failing.max_attempts;
            }
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = e.message(), "job failed");
            fail(
                &state.db,
                &failing,
                worker,
                e.message(),
                state.config.job_retry_base,
            )
            .await
            .map(|dead| {
                let outcome = if dead {
                    JobOutcome::Dead
                } else {
                    JobOutcome::Retried
                };
                state.metrics.job_run(kind, outcome);
                dead.then(|| e.message().to_owned())
            })
        }
    };
    match outcome {
        Ok(Some(error)) => {
            if let Err(e) = registry.give_up(state, job, &error).await {
                tracing::error!(job = %job.id, error = ?e, "recording a dead job's outcome failed");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(job = %job.id, error = ?e, "recording a job's outcome failed"),
    }
}

async fn work(state: &AppState, registry: &Registry, job: &job::Model) -> JobResult {
    if job.attempts > job.max_attempts {
        // Claimed again after its worker died too many times.
        return Err(JobError::Permanent(job.last_error.clone().unwrap_or_else(
            || "no worker finished this job before its lease ran out".into(),
        )));
    }
    registry.run(state, job).await
}
