//! What a person says about themself: their display name, the language of
//! their messages, and which optional messages they get.

use chrono::Utc;
use entities::user;
use sea_orm::{ActiveModelTrait, Set};

use super::{DisplayName, load_for_update, parse_locale};
use crate::{
    auth::Actor,
    domain::Check,
    error::AppResult,
    services::{
        audit::{self, Action, Change},
        begin_write,
        notifications::{Topic, topics},
    },
    state::AppState,
};

pub struct ProfileInput {
    pub display_name: Option<String>,
    pub locale: Option<String>,
}

/// Changes what is given; what is left out stays.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    input: ProfileInput,
) -> AppResult<user::Model> {
    let mut check = Check::default();
    let display_name = input
        .display_name
        .as_deref()
        .map(|n| check.field(DisplayName::parse(n, "input.displayName")));
    let locale = input
        .locale
        .as_deref()
        .map(|l| check.field(parse_locale(l, "input.locale")));
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let txn = begin_write(&state.db).await?;
    let before = load_for_update(&txn, actor.user_id).await?;
    let mut active: user::ActiveModel = before.clone().into();
    if let Some(Some(name)) = display_name {
        active.display_name = Set(name.into_inner());
    }
    if let Some(Some(locale)) = locale {
        active.locale = Set(locale.tag().to_owned());
    }
    active.updated_at = Set(Utc::now());
    let after = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AccountProfileUpdated, "User", after.id).diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The optional messages and whether the person gets each.
pub async fn notification_preferences(
    state: &AppState,
    actor: &Actor,
    person: &user::Model,
) -> AppResult<Vec<(Topic, bool)>> {
    super::require_self(actor, person.id, "notification preferences")?;
    let off = topics::opt_outs(&state.db, person.id).await?;
    Ok(Topic::ALL
        .into_iter()
        .map(|t| (t, !off.contains(&t)))
        .collect())
}

/// Turns optional messages on or off; topics left out stay as they were.
pub async fn set_notification_preferences(
    state: &AppState,
    actor: &Actor,
    wanted: &[(Topic, bool)],
) -> AppResult<Vec<(Topic, bool)>> {
    let txn = begin_write(&state.db).await?;
    let person = load_for_update(&txn, actor.user_id).await?;
    for (topic, on) in wanted {
        topics::set(&txn, person.id, *topic, *on).await?;
    }
    audit::record(
        &txn,
        actor,
        Change::new(Action::AccountNotificationsChanged, "User", person.id),
    )
    .await?;
    txn.commit().await?;
    notification_preferences(state, actor, &person).await
}
