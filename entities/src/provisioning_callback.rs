//! An operator's accepted answer to one provisioning request (a
//! `provision_app` job): at most one per job, so repeats are refused.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "provisioning_callbacks")]
pub struct Model {
    /// The job answered.
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: Uuid,
    pub pool_app_id: Uuid,
    /// `READY` or `FAILED`.
    pub status: String,
    /// The signature's timestamp.
    pub signed_at: DateTimeUtc,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
