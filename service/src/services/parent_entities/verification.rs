//! Verification: a platform admin vouches that a parent entity is the
//! legal entity it names. A verified parent holds its registration number
//! (normalised) against every other parent in its jurisdiction.

use chrono::Utc;
use entities::parent_entity;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::{MultiLineText, registration_key},
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Change},
        begin_write,
    },
    state::AppState,
};

use super::{lock_parent, not_found};

/// Marks a parent entity verified. Platform admins only.
pub async fn verify(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
) -> AppResult<parent_entity::Model> {
    permissions::require_platform_admin(
        &state.db,
        &state.config.platform_admin_emails,
        actor,
        "verifying a parent entity",
    )
    .await?;
    let txn = begin_write(&state.db).await?;
    let parent = locked(&txn, parent_entity_id).await?;
    if parent.verified_at.is_some() {
        return Err(AppError::Conflict(format!(
            "{} is already verified",
            parent.name
        )));
    }
    // Numbers stored before keys were bounded may have no valid key.
    let key = registration_key(&parent.registration_number, "registrationNumber").map_err(|e| {
        AppError::Conflict(format!(
            "the registration number `{}` cannot be verified: it {}",
            parent.registration_number, e.message
        ))
    })?;
    let taken = || {
        format!(
            "another verified parent entity holds the registration number {} in {}; revoke that verification first if it was wrong",
            parent.registration_number, parent.jurisdiction
        )
    };
    refuse_number_of_verified(&txn, &parent.jurisdiction, &key, Some(parent.id), taken).await?;
    let before = parent.clone();
    let mut active: parent_entity::ActiveModel = parent.clone().into();
    active.registration_key = Set(Some(key));
    active.verified_at = Set(Some(Utc::now()));
    active.verified_by = Set(Some(actor.user_id));
    // The partial unique index decides between two verifications at once.
    let parent = active.update(&txn).await.on_conflict(taken)?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ParentEntityVerified, "ParentEntity", parent.id)
            .in_parent(parent.id)
            .diff(&before, &parent),
    )
    .await?;
    txn.commit().await?;
    Ok(parent)
}

/// Withdraws a verification, with the reason for the trail. Platform admins
/// only. The registration number is free again.
pub async fn revoke_verification(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    reason: &str,
) -> AppResult<parent_entity::Model> {
    permissions::require_platform_admin(
        &state.db,
        &state.config.platform_admin_emails,
        actor,
        "revoking a parent entity's verification",
    )
    .await?;
    let reason = MultiLineText::<1, 1000>::parse(reason, "input.reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    let txn = begin_write(&state.db).await?;
    let parent = locked(&txn, parent_entity_id).await?;
    if parent.verified_at.is_none() {
        return Err(AppError::Conflict(format!(
            "{} is not verified",
            parent.name
        )));
    }
    let before = parent.clone();
    let mut active: parent_entity::ActiveModel = parent.into();
    active.verified_at = Set(None);
    active.verified_by = Set(None);
    let parent = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::ParentEntityVerificationRevoked,
            "ParentEntity",
            parent.id,
        )
        .in_parent(parent.id)
        .diff(&before, &parent)
        .with("reason", reason.into_inner()),
    )
    .await?;
    txn.commit().await?;
    Ok(parent)
}

/// `CONFLICT` with `message` when a verified parent entity other than
/// `except` holds the normalised number `key` in `jurisdiction`.
pub(super) async fn refuse_number_of_verified(
    db: &impl ConnectionTrait,
    jurisdiction: &str,
    key: &str,
    except: Option<Uuid>,
    message: impl FnOnce() -> String,
) -> AppResult<()> {
    let mut select = parent_entity::Entity::find()
        .filter(parent_entity::Column::Jurisdiction.eq(jurisdiction))
        .filter(parent_entity::Column::RegistrationKey.eq(key))
        .filter(parent_entity::Column::VerifiedAt.is_not_null());
    if let Some(id) = except {
        select = select.filter(parent_entity::Column::Id.ne(id));
    }
    if select.one(db).await?.is_some() {
        return Err(AppError::Conflict(message()));
    }
    Ok(())
}

async fn locked(db: &impl ConnectionTrait, id: Uuid) -> AppResult<parent_entity::Model> {
    lock_parent(db, id).await?;
    parent_entity::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(id))
}
