//! The app account jobs a membership change or a ready app calls for,
//! queued inside the change's transaction. Running them (calling the app's
//! operator) is `services::provisioning`' work.

use chrono::Utc;
use entities::{
    membership,
    pool_app::{self, ProvisioningState},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::AppResult,
    services::jobs::{self, Job, Kind},
};

/// What happens to a member's account in an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountAction {
    Add,
    Remove,
    Change,
}

/// The `sync_app_account` job. Fields in alphabetical order: payloads
/// queued before they were typed were written with sorted keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncAppAccount {
    pub action: AccountAction,
    pub membership_id: Uuid,
    pub pool_app_id: Uuid,
}

impl Job for SyncAppAccount {
    const KIND: Kind = Kind::SyncAppAccount;
}

/// In the transaction of a membership change: one account job per READY
/// app of the pool.
pub async fn follow_membership(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    membership_id: Uuid,
    action: AccountAction,
) -> AppResult<()> {
    let apps = pool_app::Entity::find()
        .filter(pool_app::Column::PoolId.eq(pool_id))
        .filter(pool_app::Column::ProvisioningState.eq(ProvisioningState::Ready))
        .all(db)
        .await?;
    jobs::enqueue_many(
        db,
        apps.iter().map(|app| SyncAppAccount {
            action,
            membership_id,
            pool_app_id: app.id,
        }),
        Utc::now(),
    )
    .await
}

/// When an app becomes READY: an account for every active member.
pub async fn accounts_for_ready_app(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    app_id: Uuid,
) -> AppResult<()> {
    let members: Vec<Uuid> = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::PoolId.eq(pool_id))
        .filter(membership::Column::Status.eq(membership::MembershipStatus::Active))
        .into_tuple()
        .all(db)
        .await?;
    jobs::enqueue_many(
        db,
        members.into_iter().map(|membership_id| SyncAppAccount {
            action: AccountAction::Add,
            membership_id,
            pool_app_id: app_id,
        }),
        Utc::now(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn account_jobs_are_stored_as_before() {
        let (membership_id, pool_app_id) = (Uuid::now_v7(), Uuid::now_v7());
        for (action, text) in [
            (AccountAction::Add, "add"),
            (AccountAction::Remove, "remove"),
            (AccountAction::Change, "change"),
        ] {
            jobs::assert_stored_as(
                SyncAppAccount {
                    action,
                    membership_id,
                    pool_app_id,
                },
                json!({ "poolAppId": pool_app_id, "membershipId": membership_id, "action": text }),
            );
        }
    }
}
