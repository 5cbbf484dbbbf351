//! A pool's dissolution: decided by its members, consented to by its
//! parent where the parent's policy says so, then wound up while the pool
//! is `DISSOLVING`, and completed when it is `DISSOLVED`. Never deleted.
use sea_orm::entity::prelude::*;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DissolutionStatus {
    /// The members decided; the parent's stewards consent or refuse.
    #[sea_orm(string_value = "AWAITING_CONSENT")]
    AwaitingConsent,
    /// A steward of the parent refused; the pool goes on.
    #[sea_orm(string_value = "REFUSED")]
    Refused,
    /// The pool is `DISSOLVING`: contributions canceled, apps taken down,
    /// the remaining funds waiting to be confirmed paid.
    #[sea_orm(string_value = "WINDING_UP")]
    WindingUp,
    /// The pool is `DISSOLVED`.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
}

/// Where the remaining funds go.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Recipient {
    /// The parent entity, as the standard rules say.
    #[sea_orm(string_value = "PARENT")]
    Parent,
    /// Another co-op the members chose.
    #[sea_orm(string_value = "COOP")]
    Coop,
    /// The members, in equal shares: never under an asset lock.
    #[sea_orm(string_value = "MEMBERS")]
    Members,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pool_dissolutions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    /// The members' proposal that decided it.
    pub proposal_id: Uuid,
    /// The parent the pool was under when its members decided.
    pub parent_entity_id: Uuid,
    pub status: DissolutionStatus,
    pub recipient: Recipient,
    /// The co-op the funds go to, for `COOP`.
    pub coop_name: Option<String>,
    pub coop_registration_number: Option<String>,
    pub coop_jurisdiction: Option<String>,
    /// Whether the parent's policy asked for its consent.
    pub needs_consent: bool,
    /// The steward who consented or refused, and when.
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub refusal_reason: Option<String>,
    /// The pool's balances when winding up began: `[{"currency", "amountMinor"}]`.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub final_balances: Option<Json>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_by: Option<Uuid>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
