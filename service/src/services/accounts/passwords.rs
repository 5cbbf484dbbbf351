//! Passwords: a reset by email for a forgotten one, and a change for a
//! known one. Either ends the account's other sessions and is told to the
//! account's address.

use chrono::Utc;
use entities::{
    access_token::{self, TokenKind},
    account_token::Purpose,
    user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{links, load_for_update, require_password};
use crate::{
    auth::{Actor, Origin, password},
    domain::{Email, Password},
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        notifications::{self, Notice},
    },
    state::AppState,
};

/// Asks for a reset link. The answer is the same whether or not an account
/// has the address (no one learns who has an account); requests are
/// limited per network, and an account gets a few links an hour at most.
pub async fn request_reset(state: &AppState, origin: &Origin, email: &str) -> AppResult<()> {
    let email = Email::parse(email, "email").map_err(|e| AppError::Validation(vec![e]))?;
    state
        .limits
        .password_reset_attempt(origin.client_address.as_deref().unwrap_or_default())?;
    let txn = begin_write(&state.db).await?;
    let person = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DeletedAt.is_null())
        .one(&txn)
        .await?;
    if let Some(person) = person {
        links::issue(
            state,
            &txn,
            person.id,
            Purpose::ResetPassword,
            &person.email,
            links::RESET_TTL,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets a new password with a reset link. Following the link also proves
/// the address. Every session of the account ends.
pub async fn reset(
    state: &AppState,
    origin: &Origin,
    token: &str,
    new_password: String,
) -> AppResult<()> {
    let link = links::find(state, &state.db, token, &[Purpose::ResetPassword]).await?;
    let person = user::Entity::find_by_id(link.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| AppError::NotFound("no link has this token".into()))?;
    let hash = new_hash(state, &person, new_password).await?;
    let txn = begin_write(&state.db).await?;
    links::take(&txn, &link).await?;
    let person = load_for_update(&txn, person.id).await?;
    let now = Utc::now();
    let confirmed = person.email_confirmed_at.or(Some(now));
    let mut active: user::ActiveModel = person.into();
    active.password_hash = Set(hash);
    active.email_confirmed_at = Set(confirmed);
    active.updated_at = Set(now);
    let person = active.update(&txn).await?;
    after_new_password(&txn, person.id, None).await?;
    audit::record(
        &txn,
        Author::anonymous(origin).identified(person.id),
        Change::new(Action::AccountPasswordReset, "User", person.id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Changes the password, given the current one. The session the change is
/// made from stays; every other one ends.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    current: String,
    new_password: String,
) -> AppResult<()> {
    actor.require_session("changePassword")?;
    let person = super::me(state, actor).await?;
    require_password(state, &actor.origin, &person, current, "currentPassword").await?;
    let hash = new_hash(state, &person, new_password).await?;
    let txn = begin_write(&state.db).await?;
    let person = load_for_update(&txn, person.id).await?;
    let now = Utc::now();
    let mut active: user::ActiveModel = person.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(now);
    let person = active.update(&txn).await?;
    after_new_password(&txn, person.id, Some(actor.token_id)).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AccountPasswordChanged, "User", person.id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The hash of a new password, checked against the account's address.
async fn new_hash(state: &AppState, person: &user::Model, raw: String) -> AppResult<String> {
    let email = Email::parse(&person.email, "email").ok();
    let new_password = Password::parse(&raw, email.as_ref(), "newPassword")
        .map_err(|e| AppError::Validation(vec![e]))?;
    password::hash(&state.limits, new_password.into_inner()).await
}

/// What a new password ends and says: the other sessions (all but `keep`),
/// any unused reset link, and a message to the account's address.
async fn after_new_password(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> AppResult<()> {
    end_sessions(db, user_id, keep).await?;
    links::retire(db, user_id, Purpose::ResetPassword, Utc::now()).await?;
    notifications::queue(db, Notice::PasswordChanged { user_id }).await
}

/// Ends every open session of `user_id` but `keep`; returns how many ended.
/// API tokens stay: integrators revoke them themselves.
pub(crate) async fn end_sessions(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> AppResult<u64> {
    let mut update = access_token::Entity::update_many()
        .col_expr(
            access_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(access_token::Column::UserId.eq(user_id))
        .filter(access_token::Column::Kind.eq(TokenKind::Session))
        .filter(access_token::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(access_token::Column::Id.ne(keep));
    }
    Ok(update.exec(db).await?.rows_affected)
}
