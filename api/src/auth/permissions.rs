//! Permission checks shared by the services.

use entities::parent_entity_role::{self, RoleKind};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The active role `user_id` holds at a parent entity, if any.
pub async fn parent_role(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
) -> AppResult<Option<RoleKind>> {
    Ok(parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent_entity_id))
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .map(|r| r.role))
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
