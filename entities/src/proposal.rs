//! A decision put to a pool's members.
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
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProposalKind {
    /// Agree, abstain, disagree or block.
    #[sea_orm(string_value = "PROPOSAL")]
    Proposal,
    /// The proposal's own options.
    #[sea_orm(string_value = "POLL")]
    Poll,
    /// An expense to approve; votes as a proposal.
    #[sea_orm(string_value = "EXPENSE")]
    Expense,
    /// A change to the pool's rules; votes as a proposal, with the rules'
    /// amendment threshold.
    #[sea_orm(string_value = "RULES_CHANGE")]
    RulesChange,
    /// A suspended member's appeal: passing it lifts the suspension.
    #[sea_orm(string_value = "APPEAL")]
    Appeal,
    /// Moving the pool to another parent entity (`move_to_parent_id`);
    /// votes as a rules change.
    #[sea_orm(string_value = "MOVE")]
    Move,
    /// Spinning the pool out into a legal entity of its own
    /// (`spin_out_template_id`, `spin_out_entity_name`); votes as a rules
    /// change.
    #[sea_orm(string_value = "SPIN_OUT")]
    SpinOut,
    /// Dissolving the pool, its remaining funds going to
    /// `dissolution_recipient`; votes as a rules change.
    #[sea_orm(string_value = "DISSOLUTION")]
    Dissolution,
    /// How the pool votes in its parent's assembly on an application to the
    /// commons fund (`fund_application_id`): passing casts FOR, failing or
    /// blocked AGAINST; votes as a proposal.
    #[sea_orm(string_value = "ASSEMBLY_VOTE")]
    AssemblyVote,
}

impl ProposalKind {
    /// Whether it changes what the pool is (its rules, its parent, its
    /// existence): then it needs the rules' amendment threshold and every
    /// voting group.
    pub fn amends(self) -> bool {
        matches!(
            self,
            Self::RulesChange | Self::Move | Self::SpinOut | Self::Dissolution
        )
    }
}

/// Where a rules change stands once proposed.
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
pub enum RulesChangeStatus {
    /// The members are voting.
    #[sea_orm(string_value = "VOTING")]
    Voting,
    /// Passed; the parent's policy asks a steward to approve it.
    #[sea_orm(string_value = "AWAITING_PARENT")]
    AwaitingParent,
    /// Applied: the rules have a new version.
    #[sea_orm(string_value = "ADOPTED")]
    Adopted,
    /// The vote did not pass it.
    #[sea_orm(string_value = "NOT_PASSED")]
    NotPassed,
    /// A steward of the parent declined it.
    #[sea_orm(string_value = "DECLINED_BY_PARENT")]
    DeclinedByParent,
    /// Passed, but could not be applied as voted: other rules were adopted
    /// while it was open, or the pool changed so that it no longer fits.
    #[sea_orm(string_value = "LAPSED")]
    Lapsed,
}

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
pub enum ProposalStatus {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
}

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
pub enum Outcome {
    #[sea_orm(string_value = "PASSED")]
    Passed,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "NO_QUORUM")]
    NoQuorum,
    #[sea_orm(string_value = "BLOCKED")]
    Blocked,
    /// Closed without a count: the pool ended (spun out) while it was open.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "proposals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub author_membership_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub kind: ProposalKind,
    /// The choices, as a list of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub options: Json,
    pub closes_at: DateTimeUtc,
    pub quorum_percent: i32,
    pub pass_threshold_percent: i32,
    /// `ONE_MEMBER_ONE_VOTE` or `WEIGHTED_BY_GROUP`.
    pub voting_rule: String,
    /// Stakeholder group ids whose members may vote.
    #[sea_orm(column_type = "JsonBinary")]
    pub eligible_group_ids: Json,
    pub status: ProposalStatus,
    pub outcome: Option<Outcome>,
    /// Counts per option and group, turnout, quorum: stored at closing.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub result: Option<Json>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A `RULES_CHANGE` proposal's typed changes.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub rules_change: Option<Json>,
    /// The rules version the change was proposed against.
    pub rules_base_version: Option<i32>,
    pub rules_change_status: Option<RulesChangeStatus>,
    /// A `MOVE` proposal's receiving parent entity.
    pub move_to_parent_id: Option<Uuid>,
    /// A `SPIN_OUT` proposal's standalone legal template.
    pub spin_out_template_id: Option<String>,
    /// A `SPIN_OUT` proposal's name for the new entity.
    pub spin_out_entity_name: Option<String>,
    /// A dissolution's recipient of the remaining funds (`PARENT`, `COOP`
    /// or `MEMBERS`), and the co-op when it is one.
    pub dissolution_recipient: Option<String>,
    pub dissolution_coop_name: Option<String>,
    pub dissolution_coop_number: Option<String>,
    pub dissolution_coop_jurisdiction: Option<String>,
    /// An `ASSEMBLY_VOTE` proposal's fund application.
    pub fund_application_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
