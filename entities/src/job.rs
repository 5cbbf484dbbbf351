//! Work that must happen after a request and survive a restart: provisioning
//! an app, delivering a webhook, closing a proposal when its time comes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What to do: `provision_app`, `sync_app_account`, `deliver_webhook`, `close_proposal`.
    pub kind: String,
    /// JSON text with the job's arguments.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// PENDING, RUNNING, DONE or DEAD.
    pub status: String,
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
