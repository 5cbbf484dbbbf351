//! What a pool's rules say of contributions of work, care and kind, as
//! the pool shows them and as a rules change sets them.

use async_graphql::{InputObject, SimpleObject};

use crate::services::formations::governance::{
    Confirmers, ContributionMeaning, WorkContributionRules,
};

/// What a pool's rules say of contributions of work, care and kind (the
/// defaults, where its rules have no such section).
#[derive(SimpleObject)]
pub struct WorkContributionRulesInForce {
    /// Whether the rules have their own section; if not, these are the defaults.
    pub stated: bool,
    pub confirmations_required: i32,
    pub confirmers: Confirmers,
    pub self_confirmation: bool,
    /// Whether a contribution may state a value in the pool's currency.
    pub valued: bool,
    pub meaning: ContributionMeaning,
    pub hours_per_share: i32,
    pub max_labour_shares: i32,
    pub other_kinds: Vec<String>,
}

impl WorkContributionRulesInForce {
    pub fn of(rules: Option<WorkContributionRules>) -> Self {
        let stated = rules.is_some();
        let r = rules.unwrap_or_default();
        Self {
            stated,
            confirmations_required: r.confirmations_required,
            confirmers: r.confirmers,
            self_confirmation: r.self_confirmation,
            valued: r.valued,
            meaning: r.meaning,
            hours_per_share: r.hours_per_share,
            max_labour_shares: r.max_labour_shares,
            other_kinds: r.other_kinds,
        }
    }
}

/// Rules for contributions of work, care and kind, in a rules change.
#[derive(InputObject)]
pub struct WorkContributionRulesInput {
    /// 1 to 5.
    pub confirmations_required: i32,
    pub confirmers: Confirmers,
    pub self_confirmation: bool,
    pub valued: bool,
    pub meaning: ContributionMeaning,
    /// 1 to 10000 hours a labour share stands for.
    #[graphql(default = 100)]
    pub hours_per_share: i32,
    /// 1 to 100: the most labour shares a member's vote gains.
    #[graphql(default = 10)]
    pub max_labour_shares: i32,
    /// At most 10 labels of the pool's own kinds, 1 to 40 characters each.
    #[graphql(default)]
    pub other_kinds: Vec<String>,
}

impl From<WorkContributionRulesInput> for WorkContributionRules {
    fn from(i: WorkContributionRulesInput) -> Self {
        Self {
            confirmations_required: i.confirmations_required,
            confirmers: i.confirmers,
            self_confirmation: i.self_confirmation,
            valued: i.valued,
            meaning: i.meaning,
            hours_per_share: i.hours_per_share,
            max_labour_shares: i.max_labour_shares,
            other_kinds: i.other_kinds,
        }
    }
}

#[derive(InputObject)]
pub struct SetWorkContributionRulesInput {
    /// `null` drops the section: the defaults apply again.
    pub rules: Option<WorkContributionRulesInput>,
}
