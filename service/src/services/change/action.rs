//! What an audit event says happened. The trail stores the text of the
//! action; the server reacts to the variant (webhooks, account jobs) with
//! exhaustive matches, so a new action has to say what it sets in motion
//! and a renamed one cannot silently stop a reaction.
//!
//! The stored texts are part of the hash chain and of the public audit
//! queries: they never change once released.

/// Declares the actions with their stored text side by side.
macro_rules! actions {
    ($($variant:ident = $text:literal,)+) => {
        /// One kind of audited change, `<entity>.<verb>`.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Action {
            $($variant,)+
            /// A mutation refused with `FORBIDDEN`, stored as `<mutation>.denied`.
            Denied(Denial),
        }

        impl Action {
            /// Every action but the refusals, which are one per mutation.
            #[cfg(test)]
            pub(crate) const RECORDED: &'static [Action] = &[$(Action::$variant,)+];

            /// The text stored in `audit_events.action`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Denied(denial) => &denial.0,
                }
            }
        }
    };
}

actions! {
    AccountCreated = "account.created",
    AccountDeleted = "account.deleted",
    AccountEmailChanged = "account.emailChanged",
    AccountEmailConfirmed = "account.emailConfirmed",
    AccountNotificationsChanged = "account.notificationsChanged",
    AccountPasswordChanged = "account.passwordChanged",
    AccountPasswordReset = "account.passwordReset",
    AccountProfileUpdated = "account.profileUpdated",
    AccountSignedOutEverywhere = "account.signedOutEverywhere",
    ApiTokenCreated = "apiToken.created",
    ApiTokenRevoked = "apiToken.revoked",
    AppDeprovisioned = "app.deprovisioned",
    AppFailed = "app.failed",
    AppProvisioningRetried = "app.provisioningRetried",
    AppReady = "app.ready",
    AppProvisionerSet = "appProvisioner.set",
    ApplicationApproved = "application.approved",
    ApplicationRejected = "application.rejected",
    ApplicationSubmitted = "application.submitted",
    ApplicationWithdrawn = "application.withdrawn",
    AssemblyDelegateSet = "assembly.delegateSet",
    AssemblyVoteCast = "assembly.voteCast",
    AssetRegistered = "asset.registered",
    AssetRetired = "asset.retired",
    AssetUpdated = "asset.updated",
    ContributionCanceled = "contribution.canceled",
    ContributionChanged = "contribution.changed",
    ContributionPaid = "contribution.paid",
    ContributionPaymentFailed = "contribution.paymentFailed",
    ContributionPaymentPending = "contribution.paymentPending",
    ContributionPaymentSetUp = "contribution.paymentSetUp",
    ContributionReconciled = "contribution.reconciled",
    ContributionStarted = "contribution.started",
    ContributionStatusChanged = "contribution.statusChanged",
    DelegationCreated = "delegation.created",
    DelegationRevoked = "delegation.revoked",
    ExpensePaid = "expense.paid",
    ExpenseSubmitted = "expense.submitted",
    FormationAppConfigured = "formation.appConfigured",
    FormationApproved = "formation.approved",
    FormationAppsSelected = "formation.appsSelected",
    FormationFinancialProfileSet = "formation.financialProfileSet",
    FormationFoundingMembersSet = "formation.foundingMembersSet",
    FormationLegalTemplateChosen = "formation.legalTemplateChosen",
    FormationNamed = "formation.named",
    FormationRejected = "formation.rejected",
    FormationStakeholderGroupsSet = "formation.stakeholderGroupsSet",
    FormationStarted = "formation.started",
    FormationSubmitted = "formation.submitted",
    FormationWithdrawn = "formation.withdrawn",
    FundApplicationDecided = "fundApplication.decided",
    FundApplicationPaid = "fundApplication.paid",
    FundApplicationSubmitted = "fundApplication.submitted",
    FundApplicationWithdrawn = "fundApplication.withdrawn",
    FundDonationRecorded = "fund.donationRecorded",
    LeaseAccepted = "lease.accepted",
    LeaseDeclined = "lease.declined",
    LeaseEnded = "lease.ended",
    LeaseOffered = "lease.offered",
    LedgerAdjusted = "ledger.adjusted",
    LoanRepaymentCollected = "loanRepayment.collected",
    MemberInvited = "member.invited",
    MemberJoined = "member.joined",
    MemberLeft = "member.left",
    MemberRemoved = "member.removed",
    MemberRoleChanged = "member.roleChanged",
    MemberAppealed = "member.appealed",
    MemberConductAccepted = "member.conductAccepted",
    MemberSuspended = "member.suspended",
    MemberSuspensionLifted = "member.suspensionLifted",
    ParentEntityPolicyChanged = "parentEntity.policyChanged",
    ParentEntityRegistered = "parentEntity.registered",
    ParentEntityVerificationRevoked = "parentEntity.verificationRevoked",
    ParentEntityVerified = "parentEntity.verified",
    ParentEntityRoleAccepted = "parentEntityRole.accepted",
    ParentEntityRoleDeclined = "parentEntityRole.declined",
    ParentEntityRoleGranted = "parentEntityRole.granted",
    ParentEntityRoleRevoked = "parentEntityRole.revoked",
    PoolCreated = "pool.created",
    PoolDissolutionConsented = "pool.dissolutionConsented",
    PoolDissolutionDecided = "pool.dissolutionDecided",
    PoolDissolutionRefused = "pool.dissolutionRefused",
    PoolDissolved = "pool.dissolved",
    PoolDissolving = "pool.dissolving",
    PoolDistributionPaid = "pool.distributionPaid",
    PoolMoveDeclined = "poolMove.declined",
    PoolMoved = "pool.moved",
    PoolReinstated = "pool.reinstated",
    PoolReleased = "pool.released",
    PoolSpinOutStarted = "pool.spinOutStarted",
    PoolSpunOut = "pool.spunOut",
    PoolSuspended = "pool.suspended",
    ProposalClosed = "proposal.closed",
    ProposalCreated = "proposal.created",
    RentCharged = "rent.charged",
    RulesAdopted = "rules.adopted",
    RulesChangeDeclined = "rulesChange.declined",
    RulesChangeLapsed = "rulesChange.lapsed",
    SessionClosed = "session.closed",
    SessionOpened = "session.opened",
    SlidingScaleSet = "slidingScale.set",
    VoteCast = "vote.cast",
    VoteChanged = "vote.changed",
    WebhookEndpointCreated = "webhookEndpoint.created",
    WebhookEndpointDeleted = "webhookEndpoint.deleted",
    WorkContributionConfirmed = "workContribution.confirmed",
    WorkContributionRecorded = "workContribution.recorded",
    WorkContributionRefused = "workContribution.refused",
    WorkContributionSeconded = "workContribution.seconded",
    WorkContributionWithdrawn = "workContribution.withdrawn",
}

/// The stored text of a refused mutation. Made only by [`Action::denied`],
/// so it always has the `<mutation>.denied` form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial(String);

impl Action {
    /// The refusal of the mutation named `mutation` (its GraphQL field name).
    pub fn denied(mutation: &str) -> Self {
        Self::Denied(Denial(format!("{mutation}.denied")))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_action_has_its_own_text() {
        let mut seen = HashSet::new();
        for action in Action::RECORDED {
            assert!(seen.insert(action.as_str()), "{action} is used twice");
        }
    }

    #[test]
    fn texts_name_an_entity_and_a_verb_and_are_never_refusals() {
        for action in Action::RECORDED {
            let text = action.as_str();
            let (entity, verb) = text.split_once('.').expect(text);
            assert!(!entity.is_empty() && !verb.is_empty(), "{text}");
            assert!(!verb.contains('.'), "{text}");
            assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
            // A refusal is `<mutation>.denied`; no recorded action may read as one.
            assert_ne!(verb, "denied", "{text}");
        }
    }

    #[test]
    fn refusals_keep_the_text_stored_until_now() {
        assert_eq!(Action::denied("createPool").as_str(), "createPool.denied");
        assert_eq!(Action::denied("signIn"), Action::denied("signIn"));
        assert_ne!(Action::denied("signIn"), Action::denied("signUp"));
    }

    #[test]
    fn texts_are_the_stored_ones() {
        // A sample pinned by hand: these strings are in released hash chains.
        for (action, text) in [
            (Action::MemberJoined, "member.joined"),
            (
                Action::ContributionPaymentSetUp,
                "contribution.paymentSetUp",
            ),
            (
                Action::ParentEntityVerificationRevoked,
                "parentEntity.verificationRevoked",
            ),
            (Action::AppProvisionerSet, "appProvisioner.set"),
            (Action::WebhookEndpointDeleted, "webhookEndpoint.deleted"),
        ] {
            assert_eq!(action.as_str(), text);
        }
    }
}
