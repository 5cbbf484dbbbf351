//! A registered legal entity (co-op, foundation, association) that hosts pools.
use sea_orm::entity::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalPolicy {
    /// A steward approves each submitted formation.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
    /// Submitted formations are approved at once.
    #[sea_orm(string_value = "AUTOMATIC")]
    Automatic,
}

/// How the parent's assembly of pools counts a pool's vote on the fund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssemblyWeighting {
    #[sea_orm(string_value = "ONE_POOL_ONE_VOTE")]
    OnePoolOneVote,
    /// Each pool's vote counts as many as its active members.
    #[sea_orm(string_value = "BY_MEMBERS")]
    ByMembers,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "parent_entities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The URL form of the name; unique among parent entities.
    pub slug: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub jurisdiction: String,
    pub legal_form: String,
    /// Unique within a jurisdiction.
    pub registration_number: String,
    pub approval_policy: ApprovalPolicy,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Policy: template ids its pools may use (`None`: any).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub allowed_template_ids: Option<Json>,
    /// Policy: app ids its pools may use (`None`: any).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub allowed_app_ids: Option<Json>,
    /// Policy: whether a pool may depart from an ICA principle (with a warning).
    pub allows_principle_exceptions: bool,
    /// Policy: expenses above this amount (minor units) need at least
    /// `expense_min_approvals` agreeing votes.
    pub expense_approval_above_minor: Option<i64>,
    pub expense_min_approvals: Option<i32>,
    /// Policy: the parent's share of each contribution, in basis points
    /// (250 = 2.5 %).
    pub parent_share_basis_points: i32,
    /// The registration number with case, spaces and punctuation removed;
    /// verified parents hold it against each other within a jurisdiction.
    pub registration_key: Option<String>,
    /// Set while a platform admin vouches for the entity being who it says.
    pub verified_at: Option<DateTimeUtc>,
    pub verified_by: Option<Uuid>,
    /// Which kinds of rules change the parent forbids its pools, and which
    /// need a steward's approval: `{"forbidden": [...], "needsApproval": [...]}`.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub rules_change_policy: Option<Json>,
    /// Whether a pool's dissolution, once its members decided it, waits for
    /// a steward's consent.
    pub dissolutions_need_consent: bool,
    /// Policy: how the assembly of pools weighs each pool's vote on the fund.
    pub assembly_weighting: AssemblyWeighting,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::parent_entity_role::Entity")]
    Roles,
}

impl Related<super::parent_entity_role::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Roles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
