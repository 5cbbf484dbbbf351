//! The webhook events an audited change raises, written inside its
//! transaction with a delivery and a `deliver_webhook` job per subscribed
//! endpoint. Delivering them is `services::webhooks`' work.

use chrono::Utc;
use entities::{
    contribution, expense, formation, membership, pool, pool_app, proposal, webhook_delivery,
    webhook_endpoint, webhook_event,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::Condition,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    error::AppResult,
    services::{
        change::{Action, Change},
        jobs::{self, Job, Kind},
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

/// The events an endpoint may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "formation.submitted",
    "pool.created",
    "member.joined",
    "member.left",
    "proposal.closed",
    "contribution.changed",
    "expense.paid",
    "app.ready",
];

/// The webhook event an audited action raises, if any. Exhaustive on
/// purpose: a new action has to decide whether integrators hear of it.
pub fn event_type_of(action: &Action) -> Option<&'static str> {
    use Action as A;
    Some(match action {
        A::FormationSubmitted => "formation.submitted",
        A::PoolCreated => "pool.created",
        A::MemberJoined => "member.joined",
        A::MemberLeft | A::MemberRemoved => "member.left",
        A::ProposalClosed => "proposal.closed",
        A::ExpensePaid => "expense.paid",
        A::AppReady => "app.ready",
        A::ContributionCanceled
        | A::ContributionChanged
        | A::ContributionPaid
        | A::ContributionPaymentFailed
        | A::ContributionPaymentPending
        | A::ContributionPaymentSetUp
        | A::ContributionReconciled
        | A::ContributionStarted
        | A::ContributionStatusChanged => "contribution.changed",
        A::AccountCreated
        | A::ApiTokenCreated
        | A::ApiTokenRevoked
        | A::AppFailed
        | A::AppProvisioningRetried
        | A::AppProvisionerSet
        | A::ApplicationApproved
        | A::ApplicationRejected
        | A::ApplicationSubmitted
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
        | A::SessionClosed
        | A::SessionOpened
        | A::SlidingScaleSet
        | A::VoteCast
        | A::VoteChanged
        | A::WebhookEndpointCreated
        | A::WebhookEndpointDeleted
        | A::Denied(_) => return None,
    })
}

/// Inside the change's transaction: writes the webhook event raised by an
/// audit event, with a delivery and a job per subscribed endpoint.
pub async fn emit(db: &impl ConnectionTrait, kind: &str, event: &Change) -> AppResult<()> {
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
                .is_ok_and(|events| events.iter().any(|k| k == kind))
        })
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let id = Uuid::now_v7();
    let now = Utc::now();
    let payload = json!({
        "id": id,
        "type": kind,
        "createdAt": crate::services::change::timestamp(now),
        "parentEntityId": event.parent_entity_id,
        "poolId": event.pool_id,
        "data": object_of(db, event.entity_type, event.entity_id).await?,
    });
    webhook_event::ActiveModel {
        id: Set(id),
        kind: Set(kind.to_owned()),
        pool_id: Set(event.pool_id),
        parent_entity_id: Set(event.parent_entity_id),
        payload: Set(payload.to_string()),
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

/// The changed object as the event's `data`.
async fn object_of(
    db: &impl ConnectionTrait,
    entity_type: &str,
    id: Option<Uuid>,
) -> AppResult<Value> {
    let Some(id) = id else {
        return Ok(Value::Null);
    };
    let value = match entity_type {
        "Member" => to_json(membership::Entity::find_by_id(id).one(db).await?),
        "Pool" => to_json(pool::Entity::find_by_id(id).one(db).await?),
        "Formation" => to_json(formation::Entity::find_by_id(id).one(db).await?),
        "Proposal" => to_json(proposal::Entity::find_by_id(id).one(db).await?),
        "Contribution" => to_json(contribution::Entity::find_by_id(id).one(db).await?),
        "Expense" => to_json(expense::Entity::find_by_id(id).one(db).await?),
        "PoolApp" => to_json(pool_app::Entity::find_by_id(id).one(db).await?),
        _ => json!({ "id": id }),
    };
    Ok(value)
}

fn to_json<T: serde::Serialize>(model: Option<T>) -> Value {
    model
        .and_then(|m| serde_json::to_value(m).ok())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn actions_raise_exactly_the_subscribable_events() {
        let raised: BTreeSet<&str> = Action::RECORDED.iter().filter_map(event_type_of).collect();
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
            assert_eq!(event_type_of(&action), event, "{action}");
        }
    }
}
