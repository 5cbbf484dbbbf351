//! An app selected for a pool, with its settings and provisioning state.
use sea_orm::entity::prelude::*;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProvisioningState {
    #[sea_orm(string_value = "REQUESTED")]
    Requested,
    #[sea_orm(string_value = "PROVISIONING")]
    Provisioning,
    #[sea_orm(string_value = "READY")]
    Ready,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// The pool is dissolving: the operator is asked to take the app down.
    #[sea_orm(string_value = "DEPROVISIONING")]
    Deprovisioning,
    /// The operator took the app down (or it was never set up).
    #[sea_orm(string_value = "DEPROVISIONED")]
    Deprovisioned,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_apps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub app_id: String,
    /// Manifest version the settings were validated against.
    pub app_version: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    /// `{"admins": role, "groups": {groupKey: role}}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub role_mapping: Json,
    pub provisioning_state: ProvisioningState,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Where the app lives once READY.
    #[sea_orm(column_type = "Text", nullable)]
    pub url: Option<String>,
    /// JSON the operator returned for the pool's admins (first login, …).
    #[sea_orm(column_type = "Text", nullable)]
    pub handover: Option<String>,
    /// Why the app is where it is (no provisioner yet, the last failure).
    #[sea_orm(column_type = "Text", nullable)]
    pub status_message: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
