//! Permission checks shared by the services.

use entities::{
    parent_entity_role::{self, RoleKind, RoleStatus},
    user,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::{AppError, AppResult},
};

/// The active role `user_id` holds at a parent entity, if any.
pub async fn parent_role(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<RoleKind>> {
    Ok(parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent_entity_id))
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .one(db)
        .await?
        .map(|r| r.role))
}

/// Which of `parents` `user_id` holds an active role at (steward or
/// auditor): one statement for a whole list.
pub async fn parents_with_role(
    db: &impl ConnectionTrait,
    parents: &[Uuid],
    user_id: Uuid,
) -> AppResult<std::collections::HashSet<Uuid>> {
    if parents.is_empty() {
        return Ok(Default::default());
    }
    Ok(parent_entity_role::Entity::find()
        .select_only()
        .column(parent_entity_role::Column::ParentEntityId)
        .filter(parent_entity_role::Column::ParentEntityId.is_in(parents.iter().copied()))
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Stewards only: they run the parent entity.
pub async fn require_steward(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    match parent_role(db, parent_entity_id, user_id).await? {
        Some(RoleKind::Steward) => Ok(()),
        Some(RoleKind::Auditor) => Err(AppError::Forbidden(
            "auditors read and never write; this needs a steward of the parent entity".into(),
        )),
        None => Err(AppError::Forbidden(
            "only stewards of this parent entity may do this".into(),
        )),
    }
}

/// Stewards and auditors: they may read everything under the parent entity.
pub async fn require_steward_or_auditor(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<RoleKind> {
    parent_role(db, parent_entity_id, user_id)
        .await?
        .ok_or_else(|| {
            AppError::Forbidden(
                "only stewards and auditors of this parent entity may see this".into(),
            )
        })
}

/// Auditors stay independent of what they audit: they do not found, join
/// or act in pools under their parent entity.
pub async fn refuse_auditor(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    if parent_role(db, parent_entity_id, user_id).await? == Some(RoleKind::Auditor) {
        return Err(AppError::Forbidden(
            "auditors of the parent entity read and never act in its pools".into(),
        ));
    }
    Ok(())
}

/// Platform admins only: a signed-in session (not an API token) of an
/// account whose email is in `PLATFORM_ADMIN_EMAILS`. `what` names the
/// action for the refusal.
pub async fn require_platform_admin(
    db: &impl ConnectionTrait,
    admins: &[String],
    actor: &Actor,
    what: &str,
) -> AppResult<()> {
    if actor.is_api_token() {
        return Err(AppError::Forbidden(format!(
            "{what} needs a platform admin signed in with a session; API tokens cannot do it"
        )));
    }
    let email = user::Entity::find_by_id(actor.user_id)
        .one(db)
        .await?
        .map(|u| u.email);
    if !email.is_some_and(|e| admins.contains(&e)) {
        return Err(AppError::Forbidden(format!(
            "{what} is for platform admins only"
        )));
    }
    Ok(())
}
