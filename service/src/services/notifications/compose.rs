//! What each notice says, composed when it is sent: from the rows as they
//! are then, in the recipient's language. `None` when the message's
//! reason is gone: the link was used or replaced, the invitation accepted
//! or withdrawn, the account deleted.

use chrono::{DateTime, Utc};
use entities::{
    account_token::{self, Purpose},
    invitation, membership, parent_entity,
    parent_entity_role::{self, RoleKind, RoleStatus},
    pool, stakeholder_group, user,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    Notice,
    links::{self, Page, invitation_token},
};
use crate::{
    error::AppResult,
    mail::{Letter, LetterAction, Locale, text},
    state::AppState,
};

/// Dates in messages: unambiguous in every language.
fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A letter being written in one language.
struct Draft<'a> {
    state: &'a AppState,
    locale: Locale,
}

impl Draft<'_> {
    fn t(&self, id: &str, args: &[(&str, &str)]) -> String {
        text(self.locale, id, args)
    }

    fn site(&self) -> &str {
        let url = self.state.app_url.as_str();
        url.split_once("://").map_or(url, |(_, rest)| rest)
    }

    fn action(&self, label: &str, args: &[(&str, &str)], url: String) -> Option<LetterAction> {
        Some(LetterAction {
            label: self.t(label, args),
            url,
        })
    }

    /// A message about the person's own account (always sent).
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of a letter, each named at the call"
    )]
    fn letter(
        &self,
        to: &str,
        name: &str,
        subject: String,
        paragraphs: Vec<String>,
        action: Option<LetterAction>,
        note: Option<String>,
        footer: &str,
    ) -> Letter {
        Letter {
            to: to.to_owned(),
            subject,
            greeting: self.t("greeting", &[("name", name)]),
            paragraphs,
            action,
            note,
            footer: self.t(footer, &[("site", self.site())]),
            unsubscribe: None,
        }
    }
}

pub(super) async fn letter(state: &AppState, notice: &Notice) -> AppResult<Option<Letter>> {
    match notice {
        Notice::ConfirmEmail { token_id } => {
            account_link(state, *token_id, Purpose::ConfirmEmail).await
        }
        Notice::ConfirmNewEmail { token_id } => {
            account_link(state, *token_id, Purpose::ChangeEmail).await
        }
        Notice::ResetPassword { token_id } => {
            account_link(state, *token_id, Purpose::ResetPassword).await
        }
        Notice::PasswordChanged { user_id } => password_changed(state, *user_id).await,
        Notice::EmailChanged { user_id, old_email } => {
            email_changed(state, *user_id, old_email).await
        }
        Notice::PoolInvitation { invitation_id } => pool_invitation(state, *invitation_id).await,
        Notice::RoleInvitation { role_id } => role_invitation(state, *role_id).await,
    }
}

async fn live_user(state: &AppState, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|u| u.deleted_at.is_none()))
}

fn draft<'a>(state: &'a AppState, person: Option<&user::Model>) -> Draft<'a> {
    Draft {
        state,
        locale: person.map_or(Locale::En, |p| Locale::of_stored(&p.locale)),
    }
}

/// A confirmation, change-of-address or reset link, while it still works.
async fn account_link(
    state: &AppState,
    token_id: Uuid,
    purpose: Purpose,
) -> AppResult<Option<Letter>> {
    let Some(row) = account_token::Entity::find_by_id(token_id)
        .one(&state.db)
        .await?
        .filter(|t| t.purpose == purpose && t.used_at.is_none() && t.expires_at > Utc::now())
    else {
        return Ok(None);
    };
    let Some(person) = live_user(state, row.user_id).await? else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let token = links::account_token(state, row.id);
    let until = when(row.expires_at);
    let expiry = d.t("link-expiry", &[("until", &until)]);
    let (subject, body, label, page) = match purpose {
        Purpose::ConfirmEmail => (
            "confirm-email-subject",
            "confirm-email-body",
            "confirm-email-action",
            Page::ConfirmEmail,
        ),
        Purpose::ChangeEmail => (
            "change-email-subject",
            "change-email-body",
            "change-email-action",
            Page::ConfirmEmail,
        ),
        Purpose::ResetPassword => (
            "reset-subject",
            "reset-body",
            "reset-action",
            Page::ResetPassword,
        ),
    };
    Ok(Some(d.letter(
        &row.email,
        &person.display_name,
        d.t(subject, &[]),
        vec![d.t(body, &[("email", &row.email)]), expiry],
        d.action(label, &[], links::to(state, page, Some(&token))),
        Some(d.t("not-you", &[])),
        "footer-account",
    )))
}

async fn password_changed(state: &AppState, user_id: Uuid) -> AppResult<Option<Letter>> {
    let Some(person) = live_user(state, user_id).await? else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    Ok(Some(d.letter(
        &person.email,
        &person.display_name,
        d.t("password-changed-subject", &[]),
        vec![d.t(
            "password-changed-body",
            &[("when", &when(person.updated_at))],
        )],
        d.action(
            "reset-action",
            &[],
            links::to(state, Page::ResetPassword, None),
        ),
        Some(d.t("password-changed-note", &[])),
        "footer-account",
    )))
}

/// Sent to the address the account left, so its owner hears of it.
async fn email_changed(
    state: &AppState,
    user_id: Uuid,
    old_email: &str,
) -> AppResult<Option<Letter>> {
    let Some(person) = live_user(state, user_id).await? else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    Ok(Some(d.letter(
        old_email,
        &person.display_name,
        d.t("email-changed-subject", &[]),
        vec![d.t(
            "email-changed-body",
            &[("new", person.email.as_str()), ("old", old_email)],
        )],
        None,
        Some(d.t("email-changed-note", &[])),
        "footer-account",
    )))
}

/// The account an address belongs to, for the language of a message to it.
async fn account_of(state: &AppState, email: &str) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .filter(user::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?)
}

/// An invitation to a pool, while it can still be accepted.
async fn pool_invitation(state: &AppState, invitation_id: Uuid) -> AppResult<Option<Letter>> {
    let now = Utc::now();
    let Some(inv) = invitation::Entity::find_by_id(invitation_id)
        .one(&state.db)
        .await?
        .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > now)
    else {
        return Ok(None);
    };
    let Some(member) = membership::Entity::find_by_id(inv.membership_id)
        .one(&state.db)
        .await?
        .filter(|m| m.status == membership::MembershipStatus::Invited && m.left_at.is_none())
    else {
        return Ok(None);
    };
    let (Some(pool), Some(group)) = (
        pool::Entity::find_by_id(inv.pool_id).one(&state.db).await?,
        stakeholder_group::Entity::find_by_id(member.stakeholder_group_id)
            .one(&state.db)
            .await?,
    ) else {
        return Ok(None);
    };
    let inviter = match inv.invited_by {
        Some(id) => live_user(state, id).await?,
        None => None,
    };
    let person = account_of(state, &inv.email).await?;
    let d = draft(state, person.as_ref());
    let name = person
        .as_ref()
        .map_or(member.display_name.as_str(), |p| p.display_name.as_str());
    let inviter_name = inviter.as_ref().map_or("", |u| u.display_name.as_str());
    let founding = member.joined_via == membership::JoinedVia::Founding;
    let body = if founding {
        d.t(
            "pool-invitation-founding",
            &[
                ("founder", inviter_name),
                ("pool", &pool.name),
                ("group", &group.name),
            ],
        )
    } else {
        d.t(
            "pool-invitation-body",
            &[
                ("inviter", inviter_name),
                ("pool", &pool.name),
                ("group", &group.name),
            ],
        )
    };
    let token = invitation_token(state, inv.id);
    Ok(Some(d.letter(
        &inv.email,
        name,
        d.t("pool-invitation-subject", &[("pool", &pool.name)]),
        vec![
            body,
            d.t("pool-invitation-how", &[("until", &when(inv.expires_at))]),
        ],
        d.action(
            "pool-invitation-action",
            &[],
            links::to(state, Page::AcceptInvitation, Some(&token)),
        ),
        None,
        "footer-invited",
    )))
}

/// An invitation to a role at a parent entity, while it is pending.
async fn role_invitation(state: &AppState, role_id: Uuid) -> AppResult<Option<Letter>> {
    let now = Utc::now();
    let Some(role) = parent_entity_role::Entity::find_by_id(role_id)
        .one(&state.db)
        .await?
        .filter(|r| r.status == RoleStatus::Pending && r.expires_at.is_none_or(|e| e > now))
    else {
        return Ok(None);
    };
    let Some(parent) = parent_entity::Entity::find_by_id(role.parent_entity_id)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let person = account_of(state, &role.email).await?;
    let d = draft(state, person.as_ref());
    let name = person.as_ref().map_or_else(
        || role.email.split('@').next().unwrap_or_default().to_owned(),
        |p| p.display_name.clone(),
    );
    let role_name = d.t(
        match role.role {
            RoleKind::Steward => "role-steward",
            RoleKind::Auditor => "role-auditor",
        },
        &[],
    );
    let until = role.expires_at.map(when).unwrap_or_default();
    Ok(Some(d.letter(
        &role.email,
        &name,
        d.t(
            "role-invitation-subject",
            &[("role", &role_name), ("parent", &parent.name)],
        ),
        vec![d.t(
            "role-invitation-body",
            &[
                ("role", &role_name),
                ("parent", &parent.name),
                ("until", &until),
            ],
        )],
        d.action(
            "role-invitation-action",
            &[],
            links::to(state, Page::Invitations, None),
        ),
        None,
        "footer-invited",
    )))
}
