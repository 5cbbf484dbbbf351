//! Relay's `Node`: every object with an id, so that a client refetches
//! any of them by id alone (`node`, `nodes`).

use async_graphql::{ID, Interface};

use super::{
    ApiToken, App, AppProvisioner, AuditEvent, Contribution, Delegation, Expense, Formation,
    Invitation, LedgerEntry, LegalTemplate, Member, MembershipApplication, ParentEntity,
    ParentEntityRole, PaymentReconciliationFinding, Pool, PoolApp, Proposal, SlidingScale, SpinOut,
    StakeholderGroup, User, Vote, WebhookDelivery, WebhookEndpoint, WorkContribution,
};

/// An object with a globally unique id: `node(id:)` finds it again.
#[derive(Interface)]
#[expect(
    clippy::large_enum_variant,
    reason = "a node lives only while its answer is written; boxing Formation would cost an allocation per node for nothing"
)]
#[graphql(field(name = "id", ty = "&ID"))]
pub enum Node {
    User(User),
    ParentEntity(ParentEntity),
    ParentEntityRole(ParentEntityRole),
    Formation(Formation),
    Pool(Pool),
    StakeholderGroup(StakeholderGroup),
    PoolApp(PoolApp),
    SlidingScale(SlidingScale),
    Member(Member),
    Invitation(Invitation),
    MembershipApplication(MembershipApplication),
    Proposal(Proposal),
    Vote(Vote),
    Delegation(Delegation),
    Expense(Expense),
    LedgerEntry(LedgerEntry),
    Contribution(Contribution),
    ApiToken(ApiToken),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
    AuditEvent(AuditEvent),
    AppProvisioner(AppProvisioner),
    PaymentReconciliationFinding(PaymentReconciliationFinding),
    SpinOut(SpinOut),
    WorkContribution(WorkContribution),
    /// Catalogue entries, public, by their string ids.
    App(App),
    LegalTemplate(LegalTemplate),
}
