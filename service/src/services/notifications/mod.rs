//! The messages the server sends, and when. A message is a [`Notice`]: a
//! job queued in the transaction of the change that causes it (so none is
//! sent for a change that rolled back, and none is lost for one that
//! committed). The job holds only ids; the message is composed when it is
//! sent, from what is true then, in the recipient's language, and a
//! message whose reason is gone (an invitation withdrawn, a link replaced)
//! is not sent. Its Message-ID is the job's id, the same on every retry.

mod compose;
pub mod links;
pub mod topics;
pub mod unsubscribe;

use chrono::{DateTime, Duration, Utc};
use entities::{
    job,
    parent_entity_role::{self, RoleKind, RoleStatus},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::AppResult,
    services::jobs::{self, Job, JobError, JobResult, Kind},
    state::AppState,
};

pub use topics::Topic;

/// One message to send; each variant names what it is about.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    tag = "notice",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Notice {
    /// The link that proves an account's address (an `account_tokens` row).
    ConfirmEmail { token_id: Uuid },
    /// The link that moves an account to a new address, sent to that address.
    ConfirmNewEmail { token_id: Uuid },
    /// The link that sets a new password.
    ResetPassword { token_id: Uuid },
    /// The password was changed or reset.
    PasswordChanged { user_id: Uuid },
    /// The account moved to a new address; sent to the old one.
    EmailChanged { user_id: Uuid, old_email: String },
    /// An invitation to a pool, by an admin or as a founding member.
    PoolInvitation { invitation_id: Uuid },
    /// An invitation to a role at a parent entity.
    RoleInvitation { role_id: Uuid },
    /// An application was approved or rejected; to the applicant.
    ApplicationDecided { application_id: Uuid },
    /// A formation waits for review; to one of its parent's stewards.
    FormationSubmitted { formation_id: Uuid, user_id: Uuid },
    /// A formation was approved or rejected; to its founder.
    FormationDecided { formation_id: Uuid },
    /// A proposal opened; to one member who may vote on it.
    ProposalOpened {
        proposal_id: Uuid,
        membership_id: Uuid,
    },
    /// A proposal closes soon; to one member who may vote and has not.
    ProposalClosingSoon {
        proposal_id: Uuid,
        membership_id: Uuid,
    },
    /// A contribution could not be collected; to the contributor.
    PaymentFailed { contribution_id: Uuid },
    /// A decision waits for a steward of a parent entity; to one of them.
    StewardAsked { task: StewardTask, user_id: Uuid },
    /// The parent suspended or reinstated a pool; to one of its members.
    /// Sent only if the pool still stands as it did.
    PoolStanding {
        pool_id: Uuid,
        membership_id: Uuid,
        suspended: bool,
    },
    /// The members decided to dissolve their pool, and it winds up; to one
    /// of them. Sent only while the pool is dissolving.
    PoolDissolving { pool_id: Uuid, membership_id: Uuid },
}

/// What a steward is asked to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum StewardTask {
    /// A rules change the members passed waits for the parent's approval.
    RulesChange { proposal_id: Uuid },
    /// A pool the members voted to move waits for this parent to accept or
    /// release it.
    PoolMove { move_id: Uuid },
    /// A pool its members decided to dissolve waits for this parent's
    /// consent.
    Dissolution { dissolution_id: Uuid },
}

impl Job for Notice {
    const KIND: Kind = Kind::SendMail;
}

/// Queues `notice` on `db`, the transaction of the change that causes it.
pub async fn queue(db: &impl ConnectionTrait, notice: Notice) -> AppResult<()> {
    jobs::enqueue(db, &notice, Utc::now()).await?;
    Ok(())
}

/// Tells each active steward of the formation's parent that it waits for
/// review (the stewards are read now; whether it still waits, when sent).
pub async fn formation_submitted(
    db: &impl ConnectionTrait,
    formation_id: Uuid,
    parent_entity_id: Uuid,
) -> AppResult<()> {
    let notices = stewards(db, parent_entity_id)
        .await?
        .into_iter()
        .map(|user_id| Notice::FormationSubmitted {
            formation_id,
            user_id,
        });
    jobs::enqueue_many(db, notices, Utc::now()).await
}

/// Asks each active steward of the parent to decide `task` (whether it
/// still waits is checked when sent).
pub async fn stewards_asked(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    task: StewardTask,
) -> AppResult<()> {
    let notices = stewards(db, parent_entity_id)
        .await?
        .into_iter()
        .map(|user_id| Notice::StewardAsked { task, user_id });
    jobs::enqueue_many(db, notices, Utc::now()).await
}

async fn stewards(db: &impl ConnectionTrait, parent_entity_id: Uuid) -> AppResult<Vec<Uuid>> {
    let stewards: Vec<Option<Uuid>> = parent_entity_role::Entity::find()
        .select_only()
        .column(parent_entity_role::Column::UserId)
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent_entity_id))
        .filter(parent_entity_role::Column::Role.eq(RoleKind::Steward))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .into_tuple()
        .all(db)
        .await?;
    Ok(stewards.into_iter().flatten().collect())
}

/// Tells each member of a pool that its parent suspended or reinstated it,
/// as the pool now stands.
pub async fn pool_standing(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    members: &[Uuid],
) -> AppResult<()> {
    let pool = entities::pool::Entity::find_by_id(pool_id).one(db).await?;
    let suspended = pool.is_some_and(|p| p.status == entities::pool::PoolStatus::Suspended);
    let notices = members.iter().map(|&membership_id| Notice::PoolStanding {
        pool_id,
        membership_id,
        suspended,
    });
    jobs::enqueue_many(db, notices, Utc::now()).await
}

/// Tells each member of a pool that it is dissolving.
pub async fn pool_dissolving(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    members: &[Uuid],
) -> AppResult<()> {
    let notices = members.iter().map(|&membership_id| Notice::PoolDissolving {
        pool_id,
        membership_id,
    });
    jobs::enqueue_many(db, notices, Utc::now()).await
}

/// Tells every member who may vote that a proposal opened, and queues the
/// reminder for those who will not have voted when it closes soon: a day
/// before, or halfway through a shorter vote.
pub async fn proposal_opened(
    db: &impl ConnectionTrait,
    proposal_id: Uuid,
    closes_at: DateTime<Utc>,
    voters: &[Uuid],
) -> AppResult<()> {
    let now = Utc::now();
    let lead = ((closes_at - now) / 2).min(Duration::hours(24));
    let opened = voters.iter().map(|&membership_id| Notice::ProposalOpened {
        proposal_id,
        membership_id,
    });
    jobs::enqueue_many(db, opened, now).await?;
    let reminders = voters
        .iter()
        .map(|&membership_id| Notice::ProposalClosingSoon {
            proposal_id,
            membership_id,
        });
    jobs::enqueue_many(db, reminders, closes_at - lead).await
}

/// Composes and sends one message (the `send_mail` job).
pub async fn run(state: &AppState, job: &job::Model, notice: Notice) -> JobResult {
    let Some(letter) = compose::letter(state, &notice).await? else {
        tracing::debug!(job = %job.id, ?notice, "not sent: its reason is gone");
        return Ok(());
    };
    let rendered = letter
        .render()
        .map_err(|e| JobError::Permanent(format!("the message does not render: {e}")))?;
    let message_id = format!("{}@{}", job.id, state.mailer.domain());
    state
        .mailer
        .send(&letter, rendered, &message_id, letter.unsubscribe.is_some())
        .await
        .map_err(|e| {
            if e.transient {
                JobError::Retry(e.message)
            } else {
                JobError::Permanent(e.message)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_stored_as_tagged_camel_case() {
        let id = Uuid::nil();
        let text = jobs::encode(&Notice::EmailChanged {
            user_id: id,
            old_email: "a@example.org".into(),
        });
        assert_eq!(
            text,
            r#"{"notice":"emailChanged","userId":"00000000-0000-0000-0000-000000000000","oldEmail":"a@example.org"}"#
        );
    }
}
