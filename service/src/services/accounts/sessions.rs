//! A person's sign-in sessions: listing them, ending one, ending all.

use chrono::Utc;
use entities::access_token::{self, TokenKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        begin_write,
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

/// The caller's open sessions (not ended, not expired), oldest first.
/// Sessions only: API tokens cannot list them.
pub async fn mine(
    state: &AppState,
    actor: &Actor,
    page: PageRequest,
) -> AppResult<Page<access_token::Model>> {
    actor.require_session("mySessions")?;
    let select = access_token::Entity::find()
        .filter(access_token::Column::UserId.eq(actor.user_id))
        .filter(access_token::Column::Kind.eq(TokenKind::Session))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(Utc::now()));
    paginate(&state.db, select, access_token::Column::Id, page).await
}

/// Ends one of the caller's sessions (their current one too, if named).
/// Someone else's session is as unknown as a missing one.
pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<access_token::Model> {
    actor.require_session("revokeSession")?;
    let txn = begin_write(&state.db).await?;
    let session = access_token::Entity::find_by_id(id)
        .filter(access_token::Column::Kind.eq(TokenKind::Session))
        .lock_exclusive()
        .one(&txn)
        .await?
        .filter(|t| t.user_id == actor.user_id)
        .ok_or_else(|| AppError::NotFound(format!("you have no session with id {id}")))?;
    if session.revoked_at.is_some() {
        return Ok(session);
    }
    let mut active: access_token::ActiveModel = session.into();
    active.revoked_at = Set(Some(Utc::now()));
    let ended = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::SessionClosed, "ApiToken", id),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Ends every session of the caller, the current one included; returns
/// how many ended. API tokens stay.
pub async fn sign_out_everywhere(state: &AppState, actor: &Actor) -> AppResult<u64> {
    actor.require_session("signOutEverywhere")?;
    let txn = begin_write(&state.db).await?;
    let ended = super::passwords::end_sessions(&txn, actor.user_id, None).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AccountSignedOutEverywhere, "User", actor.user_id),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}
