//! What a recorded change sets in motion, decided inside its transaction:
//! webhook deliveries, app account jobs, and the wake-up for live
//! subscriptions. Because it runs in the change's transaction, nothing is
//! sent for a change that rolled back and nothing is lost for one that
//! committed.

//!
//! It runs before the change's event takes its place in the audit chain,
//! so the chain head's lock, held until commit, is not held for this work.

pub mod app_accounts;
pub mod payloads;
pub mod webhook_events;

use sea_orm::ConnectionTrait;

use crate::{
    error::AppResult,
    services::{
        change::{Action, Change, Outcome, chain_key},
        signals::{self, EVENTS_CHANNEL},
    },
};
use app_accounts::AccountAction;

pub async fn after_change(db: &impl ConnectionTrait, change: &Change) -> AppResult<()> {
    if change.outcome != Outcome::Succeeded {
        return Ok(());
    }
    if let Some(kind) = webhook_events::event_type_of(&change.action) {
        webhook_events::emit(db, kind, change).await?;
    }
    match accounts_for(&change.action) {
        Accounts::OfMember(action) => {
            if let (Some(pool_id), Some(member_id)) = (change.pool_id, change.entity_id) {
                app_accounts::follow_membership(db, pool_id, member_id, action).await?;
            }
        }
        Accounts::InApp => {
            if let (Some(pool_id), Some(app_id)) = (change.pool_id, change.entity_id) {
                app_accounts::accounts_for_ready_app(db, pool_id, app_id).await?;
            }
        }
        Accounts::None => {}
    }
    signals::notify(db, EVENTS_CHANNEL, &chain_key(change.parent_entity_id)).await
}

/// The app account jobs an action calls for.
enum Accounts {
    None,
    /// Add, remove or change the member's account in every ready app.
    OfMember(AccountAction),
    /// An account for every active member in the app that became ready.
    InApp,
}

/// Exhaustive on purpose: a new action has to decide whether apps follow it.
fn accounts_for(action: &Action) -> Accounts {
    use Action as A;
    match action {
        A::MemberJoined => Accounts::OfMember(AccountAction::Add),
        A::MemberLeft | A::MemberRemoved => Accounts::OfMember(AccountAction::Remove),
        A::MemberRoleChanged => Accounts::OfMember(AccountAction::Change),
        A::AppReady => Accounts::InApp,
        A::AccountCreated
        | A::AccountDeleted
        | A::AccountEmailChanged
        | A::AccountEmailConfirmed
        | A::AccountNotificationsChanged
        | A::AccountPasswordChanged
        | A::AccountPasswordReset
        | A::AccountProfileUpdated
        | A::AccountSignedOutEverywhere
        | A::ApiTokenCreated
        | A::ApiTokenRevoked
        | A::AppFailed
        | A::AppDeprovisioned
        | A::AppProvisioningRetried
        | A::AppProvisionerSet
        | A::ApplicationApproved
        | A::ApplicationRejected
        | A::ApplicationSubmitted
        | A::ApplicationWithdrawn
        | A::ContributionCanceled
        | A::ContributionChanged
        | A::ContributionPaid
        | A::ContributionPaymentFailed
        | A::ContributionPaymentPending
        | A::ContributionPaymentSetUp
        | A::ContributionReconciled
        | A::ContributionStarted
        | A::ContributionStatusChanged
        | A::DelegationCreated
        | A::DelegationRevoked
        | A::ExpensePaid
        | A::ExpenseSubmitted
        | A::FormationAppConfigured
        | A::FormationApproved
        | A::FormationAppsSelected
        | A::FormationFinancialProfileSet
        | A::FormationFoundingMembersSet
        | A::FormationLegalTemplateChosen
        | A::FormationNamed
        | A::FormationRejected
        | A::FormationStakeholderGroupsSet
        | A::FormationStarted
        | A::FormationSubmitted
        | A::FormationWithdrawn
        | A::AssemblyDelegateSet
        | A::AssemblyVoteCast
        | A::AssetRegistered
        | A::AssetRetired
        | A::AssetUpdated
        | A::FundApplicationDecided
        | A::FundApplicationPaid
        | A::FundApplicationSubmitted
        | A::FundApplicationWithdrawn
        | A::FundDonationRecorded
        | A::LeaseAccepted
        | A::LeaseDeclined
        | A::LeaseEnded
        | A::LeaseOffered
        | A::RentCharged
        | A::LedgerAdjusted
        | A::LoanRepaymentCollected
        | A::MemberInvited
        | A::ParentEntityPolicyChanged
        | A::ParentEntityRegistered
        | A::ParentEntityVerificationRevoked
        | A::ParentEntityVerified
        | A::ParentEntityRoleAccepted
        | A::ParentEntityRoleDeclined
        | A::ParentEntityRoleGranted
        | A::ParentEntityRoleRevoked
        | A::PoolCreated
        | A::PoolMoveDeclined
        | A::PoolMoved
        | A::PoolReleased
        | A::PoolReinstated
        | A::PoolSpinOutStarted
        | A::PoolSpunOut
        | A::PoolDissolutionConsented
        | A::PoolDissolutionDecided
        | A::PoolDissolutionRefused
        | A::PoolDissolved
        | A::PoolDissolving
        | A::PoolDistributionPaid
        | A::PoolSuspended
        | A::ProposalClosed
        | A::ProposalCreated
        | A::MemberAppealed
        | A::MemberConductAccepted
        | A::MemberSuspended
        | A::MemberSuspensionLifted
        | A::RulesAdopted
        | A::RulesChangeDeclined
        | A::RulesChangeLapsed
        | A::SessionClosed
        | A::SessionOpened
        | A::SlidingScaleSet
        | A::VoteCast
        | A::VoteChanged
        | A::WebhookEndpointCreated
        | A::WebhookEndpointDeleted
        | A::WorkContributionConfirmed
        | A::WorkContributionRecorded
        | A::WorkContributionRefused
        | A::WorkContributionSeconded
        | A::WorkContributionWithdrawn
        | A::Denied(_) => Accounts::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_changes_and_ready_apps_move_accounts() {
        let followed: Vec<(&str, &str)> = Action::RECORDED
            .iter()
            .filter_map(|a| match accounts_for(a) {
                Accounts::OfMember(AccountAction::Add) => Some((a.as_str(), "add")),
                Accounts::OfMember(AccountAction::Remove) => Some((a.as_str(), "remove")),
                Accounts::OfMember(AccountAction::Change) => Some((a.as_str(), "change")),
                Accounts::InApp => Some((a.as_str(), "every member")),
                Accounts::None => None,
            })
            .collect();
        assert_eq!(
            followed,
            [
                ("app.ready", "every member"),
                ("member.joined", "add"),
                ("member.left", "remove"),
                ("member.removed", "remove"),
                ("member.roleChanged", "change"),
            ]
        );
        assert!(matches!(
            accounts_for(&Action::denied("removeMember")),
            Accounts::None
        ));
    }
}
