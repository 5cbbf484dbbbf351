//! Work that must happen after a request and survive a restart: provisioning
//! an app, delivering a webhook, closing a proposal when its time comes.
use sea_orm::entity::prelude::*;

/// Where a job is in its life. The kind stays text: a queue shared by
/// servers of two versions may hold a kind one of them does not know, and
/// that job must not stop the others from being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for its time or a worker.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Claimed by a worker, under a lease.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "DONE")]
    Done,
    /// Out of attempts, with its last error.
    #[sea_orm(string_value = "DEAD")]
    Dead,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What to do: `provision_app`, `deliver_webhook`, … (the service's `Kind`).
    pub kind: String,
    /// JSON text with the job's arguments.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not before this time (retries back off).
    pub run_at: DateTimeUtc,
    /// When a worker claimed it; a claim older than the lease is taken over.
    pub locked_at: Option<DateTimeUtc>,
    pub locked_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The W3C `traceparent` of the span that queued it, when traces are
    /// exported: its run is traced as a child of that span.
    pub traceparent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
