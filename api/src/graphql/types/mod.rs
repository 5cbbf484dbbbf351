//! GraphQL output and input types. Outputs wrap entity models; inputs are
//! plain shapes that the services parse into domain types.

mod accounts;
mod audit;
mod books;
mod catalogue;
mod commons;
mod contributions;
mod dissolutions;
mod events;
mod formations;
mod fund;
mod life_packs;
mod membership;
mod money;
mod moves;
mod node;
mod parent_entities;
mod pools;
mod proposals;
mod reconciliation;
mod reports;
mod rules;
mod sanctions;
mod spin_outs;
mod work_contributions;
mod work_rules;

pub use accounts::*;
pub use audit::*;
pub use books::*;
pub use catalogue::*;
pub use commons::*;
pub use contributions::*;
pub use dissolutions::*;
pub use events::*;
pub use formations::*;
pub use fund::*;
pub use life_packs::*;
pub use membership::*;
pub use money::*;
pub use moves::*;
pub use node::*;
pub use parent_entities::*;
pub use pools::*;
pub use proposals::*;
pub use reconciliation::*;
pub use reports::*;
pub use rules::*;
pub use sanctions::*;
pub use spin_outs::*;
pub use work_contributions::*;
pub use work_rules::*;

use std::sync::Arc;

use crate::error::AppError;

/// A DataLoader's database error, as the API reports it.
pub fn loader_error(err: Arc<sea_orm::DbErr>) -> AppError {
    if crate::error::database_unavailable(&err) {
        return AppError::from(Arc::unwrap_or_clone(err));
    }
    AppError::internal(anyhow::anyhow!("loading a relation: {err}"))
}

#[cfg(test)]
mod tests {
    use async_graphql::ID;

    use super::*;
    use crate::services;

    fn path_of<T>(result: Result<T, AppError>) -> String {
        match result {
            Err(AppError::Validation(errors)) => errors[0].path.clone(),
            Err(other) => panic!("not a validation error: {other:?}"),
            Ok(_) => panic!("converted"),
        }
    }

    #[test]
    fn conversions_name_the_field_as_sent() {
        let input = CreateProposalInput {
            pool_id: ID::from("nope"),
            title: String::new(),
            body: String::new(),
            kind: ProposalKind::Poll,
            options: vec![],
            closes_at: None,
            quorum_percent: None,
            pass_threshold_percent: None,
            voting_rule: None,
            eligible_group_ids: Some(vec![ID::from("x")]),
            rules_change: None,
            move_to: None,
            spin_out: None,
            dissolution: None,
            fund_application_id: None,
        };
        assert_eq!(
            path_of(services::proposals::CreateInput::try_from(input)),
            "input.eligibleGroupIds[0]"
        );
        let filter = RegisterFilter {
            status: None,
            stakeholder_group_id: Some(ID::from("nope")),
        };
        assert_eq!(
            path_of(services::membership::RegisterFilter::try_from(filter)),
            "filter.stakeholderGroupId"
        );
        let input = DecideMembershipApplicationInput {
            application_id: ID::from("nope"),
            decision: ApplicationDecision::Approve,
            reason: None,
        };
        assert_eq!(
            path_of(services::membership::applications::DecideInput::try_from(
                input
            )),
            "input.applicationId"
        );
    }
}
