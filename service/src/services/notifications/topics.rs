//! The optional kinds of message. Everything else (links a person asked
//! for, changes to their account, invitations, failed payments) is always
//! sent. An optional message carries a signed link that turns its kind off
//! without signing in.

use chrono::Utc;
use entities::notification_opt_out;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::OnConflict,
};
use uuid::Uuid;

use crate::{auth::tokens, error::AppResult, state::AppState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A proposal opened, or closing soon, in a pool where one may vote.
    Proposals,
    /// A formation submitted to a parent entity one stewards.
    FormationReviews,
    /// A decision on one's application or formation.
    Decisions,
}

impl Topic {
    pub const ALL: [Self; 3] = [Self::Proposals, Self::FormationReviews, Self::Decisions];

    /// The stored name, also used in unsubscribe links.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposals => "PROPOSALS",
            Self::FormationReviews => "FORMATION_REVIEWS",
            Self::Decisions => "DECISIONS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Its name in messages.
    pub fn message_id(self) -> &'static str {
        match self {
            Self::Proposals => "topic-proposals",
            Self::FormationReviews => "topic-formation-reviews",
            Self::Decisions => "topic-decisions",
        }
    }
}

/// Whether `user_id` turned `topic` off.
pub async fn opted_out(db: &impl ConnectionTrait, user_id: Uuid, topic: Topic) -> AppResult<bool> {
    Ok(notification_opt_out::Entity::find()
        .filter(notification_opt_out::Column::UserId.eq(user_id))
        .filter(notification_opt_out::Column::Topic.eq(topic.as_str()))
        .count(db)
        .await?
        > 0)
}

/// The topics `user_id` turned off.
pub async fn opt_outs(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<Vec<Topic>> {
    Ok(notification_opt_out::Entity::find()
        .filter(notification_opt_out::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| Topic::parse(&row.topic))
        .collect())
}

/// Turns `topic` on or off for `user_id`; idempotent.
pub async fn set(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    topic: Topic,
    wanted: bool,
) -> AppResult<()> {
    if wanted {
        notification_opt_out::Entity::delete_many()
            .filter(notification_opt_out::Column::UserId.eq(user_id))
            .filter(notification_opt_out::Column::Topic.eq(topic.as_str()))
            .exec(db)
            .await?;
    } else {
        notification_opt_out::Entity::insert(notification_opt_out::ActiveModel {
            user_id: Set(user_id),
            topic: Set(topic.as_str().to_owned()),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([
                notification_opt_out::Column::UserId,
                notification_opt_out::Column::Topic,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The signature in an unsubscribe link: only the server can make one,
/// and it names one person and one topic.
pub fn signature(state: &AppState, user_id: Uuid, topic: Topic) -> String {
    tokens::hash_token(
        state.config.auth_secret.expose(),
        &format!("unsubscribe\0{user_id}\0{}", topic.as_str()),
    )
}

/// The server's unsubscribe page for `user_id` and `topic`.
pub fn unsubscribe_url(state: &AppState, user_id: Uuid, topic: Topic) -> String {
    format!(
        "{}/unsubscribe?user={user_id}&topic={}&signature={}",
        state.public_url,
        topic.as_str(),
        signature(state, user_id, topic)
    )
}

/// Whether an unsubscribe link's signature is the server's (constant time).
pub fn verify(state: &AppState, user_id: Uuid, topic: Topic, signature_hex: &str) -> bool {
    let expected = signature(state, user_id, topic);
    expected.len() == signature_hex.len()
        && expected
            .bytes()
            .zip(signature_hex.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
