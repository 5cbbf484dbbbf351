//! The unsubscribe link of an optional message, which works without
//! signing in: the link is signed for one person and one kind. Opening it
//! (`GET`) only asks; the button, or a mail client's one-click request
//! (RFC 8058, a `POST` to the same address), turns the kind off.

use entities::user;
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::topics::{self, Topic};
use crate::{
    auth::Origin,
    error::AppResult,
    mail::{Locale, Page, text},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
    },
    state::AppState,
};

/// What the link carries, as given (any of it may be missing or forged).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Link {
    pub user: Option<String>,
    pub topic: Option<String>,
    pub signature: Option<String>,
}

/// The page to show, and whether the link was good.
pub struct Answer {
    pub valid: bool,
    pub page: Page,
}

/// `confirm` is the button (or the one-click request): the kind is then
/// turned off, idempotently, and recorded in the trail.
pub async fn follow(
    state: &AppState,
    origin: &Origin,
    link: &Link,
    confirm: bool,
) -> AppResult<Answer> {
    let Some((person, topic)) = check(state, link).await? else {
        let locale = Locale::En;
        return Ok(Answer {
            valid: false,
            page: Page {
                lang: locale.tag(),
                title: text(locale, "unsubscribe-invalid-title", &[]),
                message: text(locale, "unsubscribe-invalid", &[]),
                button: None,
            },
        });
    };
    let locale = Locale::of_stored(&person.locale);
    let topic_name = text(locale, topic.message_id(), &[]);
    let args = [
        ("topic", topic_name.as_str()),
        ("email", person.email.as_str()),
    ];
    let title = text(locale, "unsubscribe-title", &args);
    if !confirm {
        return Ok(Answer {
            valid: true,
            page: Page {
                lang: locale.tag(),
                title,
                message: text(locale, "unsubscribe-confirm", &args),
                button: Some(text(locale, "unsubscribe-button", &args)),
            },
        });
    }
    let txn = begin_write(&state.db).await?;
    if !topics::opted_out(&txn, person.id, topic).await? {
        topics::set(&txn, person.id, topic, false).await?;
        audit::record(
            &txn,
            Author::anonymous(origin).identified(person.id),
            Change::new(Action::AccountNotificationsChanged, "User", person.id)
                .with("unsubscribed", topic.as_str()),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Answer {
        valid: true,
        page: Page {
            lang: locale.tag(),
            title,
            message: text(locale, "unsubscribe-done", &args),
            button: None,
        },
    })
}

/// The person and kind a link names, if its signature is the server's and
/// the account still exists.
async fn check(state: &AppState, link: &Link) -> AppResult<Option<(user::Model, Topic)>> {
    let (Some(user_id), Some(topic), Some(signature)) = (
        link.user.as_deref().and_then(|u| Uuid::parse_str(u).ok()),
        link.topic.as_deref().and_then(Topic::parse),
        link.signature.as_deref(),
    ) else {
        return Ok(None);
    };
    if !topics::verify(state, user_id, topic, signature) {
        return Ok(None);
    }
    Ok(user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .map(|u| (u, topic)))
}
