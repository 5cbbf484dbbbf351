//! The webhook events an audited change raises, written inside its
//! transaction with a delivery and a `deliver_webhook` job per subscribed
//! endpoint. Delivering them is `services::webhooks`' work.

use chrono::Utc;
use entities::{webhook_delivery, webhook_endpoint, webhook_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::Condition,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    services::{
        change::{Action, Change},
        jobs::{self, Job, Kind},
        outbox::payloads::{self, API_VERSION, Envelope},
    },
};

/// The `deliver_webhook` job: one attempt at one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverWebhook {
    pub delivery_id: Uuid,
}

impl Job for DeliverWebhook {
    const KIND: Kind = Kind::DeliverWebhook;
}

/// Declares the event types with their names side by side.
macro_rules! event_types {
    ($($variant:ident = $text:literal,)+) => {
        /// An event an endpoint may subscribe to, `<object>.<verb>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum EventType {
            $($variant,)+
        }

        impl EventType {
            /// The name endpoints subscribe to and events carry as `type`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        /// The events an endpoint may subscribe to, by name.
        pub const EVENT_TYPES: &[&str] = &[$($text,)+];
    };
}

event_types! {
    FormationSubmitted = "formation.submitted",
    PoolCreated = "pool.created",
    PoolSuspended = "pool.suspended",
    PoolReinstated = "pool.reinstated",
    PoolMoved = "pool.moved",
    PoolSpinOutStarted = "pool.spin_out_started",
    PoolSpunOut = "pool.spun_out",
    PoolDissolving = "pool.dissolving",
    PoolDissolved = "pool.dissolved",
    MemberJoined = "member.joined",
    MemberLeft = "member.left",
    ProposalClosed = "proposal.closed",
    ContributionChanged = "contribution.changed",
    ExpensePaid = "expense.paid",
    AppReady = "app.ready",
    WorkContributionRecorded = "work_contribution.recorded",
    WorkContributionConfirmed = "work_contribution.confirmed",
    WorkContributionRefused = "work_contribution.refused",
    LeaseOffered = "lease.offered",
    LeaseAccepted = "lease.accepted",
    LeaseEnded = "lease.ended",
    RentCharged = "rent.charged",
    FundApplicationSubmitted = "fund_application.submitted",
    FundApplicationDecided = "fund_application.decided",
    LoanRepaymentCollected = "loan_repayment.collected",
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The webhook event an audited action raises, if any. Exhaustive on
/// purpose: a new action has to decide whether integrators hear of it.
pub fn event_type_of(action: &Action) -> Option<EventType> {
    use Action as A;
    use EventType as E;
    Some(match action {
        A::FormationSubmitted => E::FormationSubmitted,
        A::PoolCreated => E::PoolCreated,
        A::PoolSuspended => E::PoolSuspended,
        A::PoolReinstated => E::PoolReinstated,
        // Each parent's endpoints hear of the hand-over.
        A::PoolMoved | A::PoolReleased => E::PoolMoved,
        A::PoolSpinOutStarted => E::PoolSpinOutStarted,
        A::PoolSpunOut => E::PoolSpunOut,
        A::PoolDissolving => E::PoolDissolving,
        A::PoolDissolved => E::PoolDissolved,
        A::MemberJoined => E::MemberJoined,
        A::MemberLeft | A::MemberRemoved => E::MemberLeft,
        A::ProposalClosed => E::ProposalClosed,
        A::ExpensePaid => E::ExpensePaid,
        A::AppReady => E::AppReady,
        A::WorkContributionRecorded => E::WorkContributionRecorded,
        A::WorkContributionConfirmed => E::WorkContributionConfirmed,
        A::WorkContributionRefused => E::WorkContributionRefused,
        A::LeaseOffered => E::LeaseOffered,
        A::LeaseAccepted => E::LeaseAccepted,
        // A declined offer ends the lease before it ran; `data.status` says which.
        A::LeaseDeclined | A::LeaseEnded => E::LeaseEnded,
        A::RentCharged => E::RentCharged,
        A::FundApplicationSubmitted => E::FundApplicationSubmitted,
        A::FundApplicationDecided => E::FundApplicationDecided,
        A::LoanRepaymentCollected => E::LoanRepaymentCollected,
        A::ContributionCanceled
        | A::ContributionChanged
        | A::ContributionPaid
        | A::ContributionPaymentFailed
        | A::ContributionPaymentPending
        | A::ContributionPaymentSetUp
        | A::ContributionReconciled
        | A::ContributionStarted
        | A::ContributionStatusChanged => E::ContributionChanged,
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
        | A::AssemblyDelegateSet
        | A::AssemblyVoteCast
        | A::FundApplicationPaid
        | A::FundApplicationWithdrawn
        | A::FundDonationRecorded
        | A::AssetRegistered
        | A::AssetRetired
        | A::AssetUpdated
        | A::PoolDissolutionConsented
        | A::PoolDissolutionDecided
        | A::PoolDissolutionRefused
        | A::PoolDistributionPaid
        | A::ApplicationApproved
        | A::ApplicationRejected
        | A::ApplicationSubmitted
        | A::ApplicationWithdrawn
        | A::DelegationCreated
        | A::DelegationRevoked
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
        | A::FormationWithdrawn
        | A::LedgerAdjusted
        | A::MemberInvited
        | A::MemberRoleChanged
        | A::ParentEntityPolicyChanged
        | A::ParentEntityRegistered
        | A::ParentEntityVerificationRevoked
        | A::ParentEntityVerified
        | A::ParentEntityRoleAccepted
        | A::ParentEntityRoleDeclined
        | A::ParentEntityRoleGranted
        | A::ParentEntityRoleRevoked
        | A::ProposalCreated
        | A::PoolMoveDeclined
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
        // A confirmation short of those needed, and a withdrawal, change
        // nothing an integrator acts on; the trail keeps them.
        | A::WorkContributionSeconded
        | A::WorkContributionWithdrawn
        | A::Denied(_) => return None,
    })
}

/// Inside the change's transaction: writes the webhook event raised by an
/// audit event, with a delivery and a job per subscribed endpoint.
pub async fn emit(db: &impl ConnectionTrait, kind: EventType, event: &Change) -> AppResult<()> {
    let mut scope = Condition::any();
    if let Some(parent) = event.parent_entity_id {
        scope = scope.add(webhook_endpoint::Column::ParentEntityId.eq(parent));
    }
    if let Some(pool) = event.pool_id {
        scope = scope.add(webhook_endpoint::Column::PoolId.eq(pool));
    }
    if event.parent_entity_id.is_none() && event.pool_id.is_none() {
        return Ok(());
    }
    let endpoints: Vec<webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
        .filter(scope)
        .all(db)
        .await?
        .into_iter()
        .filter(|e| {
            serde_json::from_str::<Vec<String>>(&e.events)
                .is_ok_and(|events| events.iter().any(|k| k == kind.as_str()))
        })
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let id = Uuid::now_v7();
    let now = Utc::now();
    let data = match event.entity_id {
        Some(entity_id) => payloads::data_of(db, kind, entity_id).await?,
        None => None,
    };
    let payload = Envelope {
        id,
        kind,
        api_version: API_VERSION,
        created_at: crate::services::change::timestamp(now),
        parent_entity_id: event.parent_entity_id,
        pool_id: event.pool_id,
        data,
    };
    let payload = serde_json::to_string(&payload)
        .map_err(|e| AppError::internal(anyhow::anyhow!("webhook payload: {e}")))?;
    webhook_event::ActiveModel {
        id: Set(id),
        kind: Set(kind.as_str().to_owned()),
        pool_id: Set(event.pool_id),
        parent_entity_id: Set(event.parent_entity_id),
        payload: Set(payload),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let delivery_ids: Vec<Uuid> = endpoints.iter().map(|_| Uuid::now_v7()).collect();
    let deliveries = endpoints
        .iter()
        .zip(&delivery_ids)
        .map(|(endpoint, delivery_id)| webhook_delivery::ActiveModel {
            id: Set(*delivery_id),
            endpoint_id: Set(endpoint.id),
            event_id: Set(id),
            status: Set(webhook_delivery::DeliveryStatus::Pending),
            attempts: Set(0),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            delivered_at: Set(None),
        });
    webhook_delivery::Entity::insert_many(deliveries)
        .exec_without_returning(db)
        .await?;
    jobs::enqueue_many(
        db,
        delivery_ids
            .into_iter()
            .map(|delivery_id| DeliverWebhook { delivery_id }),
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    #[test]
    fn actions_raise_exactly_the_subscribable_events() {
        let raised: BTreeSet<&str> = Action::RECORDED
            .iter()
            .filter_map(event_type_of)
            .map(EventType::as_str)
            .collect();
        let offered: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
        // An event nobody raises, or one nobody can subscribe to, is a slip.
        assert_eq!(raised, offered);
    }

    #[test]
    fn deliveries_are_stored_as_before() {
        let delivery_id = Uuid::now_v7();
        jobs::assert_stored_as(
            DeliverWebhook { delivery_id },
            json!({ "deliveryId": delivery_id }),
        );
    }

    #[test]
    fn actions_keep_their_events() {
        for (action, event) in [
            (Action::MemberRemoved, Some("member.left")),
            (Action::MemberLeft, Some("member.left")),
            (
                Action::ContributionStatusChanged,
                Some("contribution.changed"),
            ),
            (Action::ContributionPaid, Some("contribution.changed")),
            (Action::AppFailed, None),
            (Action::FormationApproved, None),
            (Action::denied("createPool"), None),
        ] {
            assert_eq!(
                event_type_of(&action).map(EventType::as_str),
                event,
                "{action}"
            );
        }
    }
}
