//! The single-use links an account gets by email. A link is issued in the
//! transaction of what asks for it, with its message queued beside it;
//! taking one is a conditional update, so two uses at once cannot both win.

use chrono::{DateTime, Duration, Utc};
use entities::account_token::{self, Purpose};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::tokens,
    error::{AppError, AppResult},
    services::notifications::{self, Notice, links},
    state::AppState,
};

/// Links of one purpose an account may be sent in an hour; more requests
/// are answered the same way but send nothing.
pub const PER_HOUR: u64 = 3;

/// How long a password reset link works.
pub const RESET_TTL: Duration = Duration::hours(1);

/// Issues a link of `purpose` to `email` for `user_id`, retiring earlier
/// unused ones of that purpose, and queues its message, all on `db` (the
/// transaction of what asks for it). `None` when the account already had
/// [`PER_HOUR`] such links in the last hour: nothing is sent then.
pub async fn issue(
    state: &AppState,
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    email: &str,
    ttl: Duration,
) -> AppResult<Option<account_token::Model>> {
    let now = Utc::now();
    let recent = account_token::Entity::find()
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::CreatedAt.gt(now - Duration::hours(1)))
        .count(db)
        .await?;
    if recent >= PER_HOUR {
        return Ok(None);
    }
    retire(db, user_id, purpose, now).await?;
    let id = Uuid::now_v7();
    let token = links::account_token(state, id);
    let row = account_token::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        purpose: Set(purpose),
        email: Set(email.to_owned()),
        token_hash: Set(tokens::hash_token(
            state.config.auth_secret.expose(),
            &token,
        )),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    notifications::queue(db, notice(purpose, row.id)).await?;
    Ok(Some(row))
}

/// Marks every unused link of `purpose` for `user_id` as used: a newer
/// link, or a change that makes them moot (a new password), retires them.
pub async fn retire(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> AppResult<()> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The link `token` names, if it works: right purpose, unused, unexpired.
pub async fn find(
    state: &AppState,
    db: &impl ConnectionTrait,
    token: &str,
    purposes: &[Purpose],
) -> AppResult<account_token::Model> {
    let hash = tokens::hash_token(state.config.auth_secret.expose(), token.trim());
    let row = account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(hash))
        .one(db)
        .await?
        .filter(|t| purposes.contains(&t.purpose));
    match row {
        Some(t) if t.used_at.is_some() => Err(AppError::Conflict(
            "this link has already been used, or a newer one replaced it; ask for a new one".into(),
        )),
        Some(t) if t.expires_at <= Utc::now() => Err(AppError::Conflict(
            "this link has expired; ask for a new one".into(),
        )),
        Some(t) => Ok(t),
        None => Err(AppError::NotFound(
            "no link has this token; open the latest message's link, or ask for a new one".into(),
        )),
    }
}

/// Uses the link: only the first of concurrent uses gets `Ok`.
pub async fn take(db: &impl ConnectionTrait, row: &account_token::Model) -> AppResult<()> {
    let now = Utc::now();
    let taken = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::Id.eq(row.id))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if taken.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this link has already been used; ask for a new one".into(),
        ));
    }
    Ok(())
}

/// The notice that carries a link of `purpose`.
pub fn notice(purpose: Purpose, token_id: Uuid) -> Notice {
    match purpose {
        Purpose::ConfirmEmail => Notice::ConfirmEmail { token_id },
        Purpose::ChangeEmail => Notice::ConfirmNewEmail { token_id },
        Purpose::ResetPassword => Notice::ResetPassword { token_id },
    }
}
