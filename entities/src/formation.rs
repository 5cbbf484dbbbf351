//! A resumable draft of a new pool. Steps that hold lists are JSON documents;
//! a step never touched is `NULL`, so "not yet answered" differs from "none".
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
pub enum FormationStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "formations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub parent_entity_id: Uuid,
    pub founder_id: Uuid,
    pub working_name: String,
    pub status: FormationStatus,
    /// A list of stakeholder groups.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub stakeholder_groups: Option<Json>,
    /// Whether `setFoundingMembers` has been called (the rows live in
    /// `formation_founding_members`).
    pub founding_members_set: bool,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub financial_profile: Option<Json>,
    pub legal_template_id: Option<String>,
    pub name: Option<String>,
    pub slug: Option<String>,
    /// The name folded for comparison (case, accents and punctuation removed).
    pub name_key: Option<String>,
    /// The chosen app ids, in order.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub app_ids: Option<Json>,
    /// App id → `{settings, roleMapping}` for apps the founder configured.
    #[sea_orm(column_type = "JsonBinary")]
    pub app_configs: Json,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<Uuid>,
    pub rejection_reason: Option<String>,
    pub pool_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// 1 at the start, +1 on every change (steps, submission, decisions).
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
