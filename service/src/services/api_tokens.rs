//! Integrators' API tokens: created by a signed-in person, shown once,
//! revocable, scoped.

use chrono::Utc;
use entities::access_token::{self, TokenKind};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, ApiTokenScope, tokens},
    domain::{Check, SingleLineText},
    error::{AppError, AppResult, FieldError},
    services::pagination::{Page, PageRequest, paginate},
    services::{
        audit::{self, Action, Change},
        begin_write,
    },
    state::AppState,
};

pub const DEFAULT_EXPIRY_DAYS: i32 = 90;
pub const MAX_EXPIRY_DAYS: i32 = 730;

pub struct CreateApiTokenInput {
    pub name: String,
    pub scopes: Vec<ApiTokenScope>,
    pub expires_in_days: Option<i32>,
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: CreateApiTokenInput,
) -> AppResult<(String, access_token::Model)> {
    actor.require_session("createApiToken")?;
    let mut check = Check::default();
    let name = check.field(SingleLineText::<1, 100>::parse(&input.name, "input.name"));
    let mut scopes = input.scopes;
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    let scopes = check.field(if scopes.is_empty() {
        Err(FieldError::new(
            "input.scopes",
            "give at least one scope: READ, WRITE",
        ))
    } else {
        Ok(scopes)
    });
    let days = input.expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    let days = check.field(if (1..=MAX_EXPIRY_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(FieldError::new(
            "input.expiresInDays",
            format!("must be between 1 and {MAX_EXPIRY_DAYS}"),
        ))
    });
    let (Some(name), Some(scopes), Some(days)) = (name, scopes, days) else {
        return Err(check.into_error());
    };
    let token = tokens::new_token(tokens::API_PREFIX);
    let now = Utc::now();
    let txn = begin_write(&state.db).await?;
    let model = access_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(actor.user_id),
        kind: Set(TokenKind::Api),
        name: Set(Some(name.into_inner())),
        scopes: Set(ApiTokenScope::join(&scopes)),
        token_hash: Set(tokens::hash_token(
            state.config.auth_secret.expose(),
            &token,
        )),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::days(i64::from(days))),
        last_used_at: Set(None),
        revoked_at: Set(None),
        user_agent: Set(None),
        client_address: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ApiTokenCreated, "ApiToken", model.id).created(&model),
    )
    .await?;
    txn.commit().await?;
    Ok((token, model))
}

/// The caller's API tokens, revoked ones included (they are history).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    page: PageRequest,
) -> AppResult<Page<access_token::Model>> {
    actor.require_session("apiTokens")?;
    let select = access_token::Entity::find()
        .filter(access_token::Column::UserId.eq(actor.user_id))
        .filter(access_token::Column::Kind.eq(TokenKind::Api));
    paginate(&state.db, select, access_token::Column::Id, page).await
}

/// Whether `actor` may see `token`, as `apiTokens` lists them: their own
/// API tokens (not sessions), to a signed-in session.
pub fn sees(actor: &Actor, token: &access_token::Model) -> bool {
    actor.require_session("apiTokens").is_ok()
        && token.user_id == actor.user_id
        && token.kind == TokenKind::Api
}

pub async fn revoke(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<access_token::Model> {
    actor.require_session("revokeApiToken")?;
    let txn = begin_write(&state.db).await?;
    let token = access_token::Entity::find_by_id(id)
        .filter(access_token::Column::Kind.eq(TokenKind::Api))
        .lock_exclusive()
        .one(&txn)
        .await?
        // Someone else's token is as unknown as a missing one.
        .filter(|t| t.user_id == actor.user_id)
        .ok_or_else(|| AppError::NotFound(format!("you have no API token with id {id}")))?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let mut active: access_token::ActiveModel = token.clone().into();
    active.revoked_at = Set(Some(Utc::now()));
    let revoked = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ApiTokenRevoked, "ApiToken", id).diff(&token, &revoked),
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}
