//! The mutation root, merged from one object per domain.

mod accounts;
mod commons;
mod contributions;
mod events;
mod formations;
mod governance;
mod membership;
mod parent_entities;
mod work_contributions;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    parent_entities::ParentEntityMutation,
    formations::FormationMutation,
    membership::MembershipMutation,
    governance::GovernanceMutation,
    contributions::ContributionMutation,
    work_contributions::WorkContributionMutation,
    commons::CommonsMutation,
    events::EventMutation,
);
