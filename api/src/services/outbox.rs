//! What a recorded change sets in motion, decided inside its transaction:
//! webhook deliveries, app account jobs, and the wake-up for live
//! subscriptions. Because it runs in the change's transaction, nothing is
//! sent for a change that rolled back and nothing is lost for one that
//! committed.

//!
//! It runs before the change's event takes its place in the audit chain,
//! so the chain head's lock, held until commit, is not held for this work.

use sea_orm::ConnectionTrait;

use crate::{
    error::AppResult,
    services::{
        audit::{Change, Outcome, chain::chain_key},
        jobs, provisioning,
        signals::EVENTS_CHANNEL,
        webhooks,
    },
};

pub async fn after_change(db: &impl ConnectionTrait, change: &Change) -> AppResult<()> {
    if change.outcome != Outcome::Succeeded {
        return Ok(());
    }
    if let Some(kind) = webhooks::event_type_of(&change.action) {
        webhooks::emit(db, kind, change).await?;
    }
    let account_action = match change.action.as_str() {
        "member.joined" => Some("add"),
        "member.left" | "member.removed" => Some("remove"),
        "member.roleChanged" => Some("change"),
        _ => None,
    };
    if let (Some(action), Some(pool_id), Some(member_id)) =
        (account_action, change.pool_id, change.entity_id)
    {
        provisioning::follow_membership(db, pool_id, member_id, action).await?;
    }
    if change.action == "app.ready"
        && let (Some(pool_id), Some(app_id)) = (change.pool_id, change.entity_id)
    {
        provisioning::accounts_for_ready_app(db, pool_id, app_id).await?;
    }
    jobs::notify(db, EVENTS_CHANNEL, &chain_key(change.parent_entity_id)).await
}
