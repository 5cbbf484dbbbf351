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

use chrono::Utc;
use entities::job;
use sea_orm::ConnectionTrait;
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
}

impl Job for Notice {
    const KIND: Kind = Kind::SendMail;
}

/// Queues `notice` on `db`, the transaction of the change that causes it.
pub async fn queue(db: &impl ConnectionTrait, notice: Notice) -> AppResult<()> {
    jobs::enqueue(db, &notice, Utc::now()).await?;
    Ok(())
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
