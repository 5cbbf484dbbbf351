//! What each notice says, composed when it is sent: from the rows as they
//! are then, in the recipient's language. `None` when the message's
//! reason is gone: the link was used or replaced, the invitation accepted
//! or withdrawn, the account deleted.

use chrono::{DateTime, Utc};
use entities::{
    account_token::{self, Purpose},
    application::{self, ApplicationStatus},
    contribution::{self, ContributionStatus},
    formation::{self, FormationStatus},
    invitation, membership, parent_entity,
    parent_entity_role::{self, RoleKind, RoleStatus},
    pool::{self, PoolStatus},
    pool_dissolution::{self, DissolutionStatus},
    pool_move::{self, MoveStatus},
    proposal::{self, ProposalStatus, RulesChangeStatus},
    stakeholder_group, user, vote,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::{
    Notice, StewardTask,
    links::{self, Page, invitation_token},
    topics::{self, Topic},
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

    /// An optional letter: its footer says which kind it is, and it
    /// carries the link that stops that kind without signing in.
    fn optional(&self, mut letter: Letter, person: &user::Model, topic: Topic) -> Letter {
        let name = self.t(topic.message_id(), &[]);
        letter.footer = self.t(
            "footer-optional",
            &[("topic", &name), ("site", self.site())],
        );
        letter.unsubscribe = Some(LetterAction {
            label: self.t("unsubscribe", &[("topic", &name)]),
            url: topics::unsubscribe_url(self.state, person.id, topic),
        });
        letter
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
        Notice::ApplicationDecided { application_id } => {
            application_decided(state, *application_id).await
        }
        Notice::FormationSubmitted {
            formation_id,
            user_id,
        } => formation_submitted(state, *formation_id, *user_id).await,
        Notice::FormationDecided { formation_id } => formation_decided(state, *formation_id).await,
        Notice::ProposalOpened {
            proposal_id,
            membership_id,
        } => proposal_notice(state, *proposal_id, *membership_id, false).await,
        Notice::ProposalClosingSoon {
            proposal_id,
            membership_id,
        } => proposal_notice(state, *proposal_id, *membership_id, true).await,
        Notice::PaymentFailed { contribution_id } => payment_failed(state, *contribution_id).await,
        Notice::StewardAsked { task, user_id } => steward_asked(state, *task, *user_id).await,
        Notice::PoolStanding {
            pool_id,
            membership_id,
            suspended,
        } => {
            let (expected, keys) = if *suspended {
                (
                    PoolStatus::Suspended,
                    ("pool-suspended-subject", "pool-suspended-body"),
                )
            } else {
                (
                    PoolStatus::Active,
                    ("pool-reinstated-subject", "pool-reinstated-body"),
                )
            };
            pool_standing(state, *pool_id, *membership_id, expected, keys).await
        }
        Notice::PoolDissolving {
            pool_id,
            membership_id,
        } => {
            let keys = ("pool-dissolving-subject", "pool-dissolving-body");
            pool_standing(
                state,
                *pool_id,
                *membership_id,
                PoolStatus::Dissolving,
                keys,
            )
            .await
        }
    }
}

/// The person, if their account is live and they still want `topic`.
async fn follower(state: &AppState, id: Uuid, topic: Topic) -> AppResult<Option<user::Model>> {
    let Some(person) = live_user(state, id).await? else {
        return Ok(None);
    };
    Ok((!topics::opted_out(&state.db, id, topic).await?).then_some(person))
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

/// The decision on an application, to the applicant.
async fn application_decided(state: &AppState, id: Uuid) -> AppResult<Option<Letter>> {
    let Some(app) = application::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(None);
    };
    let (subject, body) = match app.status {
        ApplicationStatus::Approved => {
            ("application-approved-subject", "application-approved-body")
        }
        ApplicationStatus::Rejected => {
            ("application-rejected-subject", "application-rejected-body")
        }
        ApplicationStatus::Pending | ApplicationStatus::Withdrawn => return Ok(None),
    };
    let (Some(person), Some(pool)) = (
        follower(state, app.user_id, Topic::Decisions).await?,
        pool::Entity::find_by_id(app.pool_id).one(&state.db).await?,
    ) else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let name = [("pool", pool.name.as_str())];
    let mut paragraphs = vec![d.t(body, &name)];
    if let Some(reason) = &app.reason {
        paragraphs.push(d.t("reason-given", &[("reason", reason)]));
    }
    let letter = d.letter(
        &person.email,
        &person.display_name,
        d.t(subject, &name),
        paragraphs,
        d.action(
            "application-action",
            &name,
            links::to(state, Page::Pool(pool.id), None),
        ),
        None,
        "footer-account",
    );
    Ok(Some(d.optional(letter, &person, Topic::Decisions)))
}

fn formation_name(f: &formation::Model) -> &str {
    f.name.as_deref().unwrap_or(&f.working_name)
}

/// A formation waiting for review, to one steward, while it still waits
/// and they are still a steward there.
async fn formation_submitted(
    state: &AppState,
    id: Uuid,
    steward: Uuid,
) -> AppResult<Option<Letter>> {
    let Some(f) = formation::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|f| f.status == FormationStatus::Submitted)
    else {
        return Ok(None);
    };
    let still_steward = parent_role_of(state, steward, &[f.parent_entity_id])
        .await?
        .is_some();
    let (Some(person), Some(parent), true) = (
        follower(state, steward, Topic::FormationReviews).await?,
        parent_entity::Entity::find_by_id(f.parent_entity_id)
            .one(&state.db)
            .await?,
        still_steward,
    ) else {
        return Ok(None);
    };
    let founder = live_user(state, f.founder_id).await?;
    let d = draft(state, Some(&person));
    let args = [
        ("name", formation_name(&f)),
        ("parent", parent.name.as_str()),
        (
            "founder",
            founder.as_ref().map_or("", |u| u.display_name.as_str()),
        ),
    ];
    let letter = d.letter(
        &person.email,
        &person.display_name,
        d.t("formation-submitted-subject", &args),
        vec![d.t("formation-submitted-body", &args)],
        d.action(
            "formation-submitted-action",
            &args,
            links::to(state, Page::Formation(f.id), None),
        ),
        None,
        "footer-account",
    );
    Ok(Some(d.optional(letter, &person, Topic::FormationReviews)))
}

/// The parent's decision on a formation, to its founder.
async fn formation_decided(state: &AppState, id: Uuid) -> AppResult<Option<Letter>> {
    let Some(f) = formation::Entity::find_by_id(id).one(&state.db).await? else {
        return Ok(None);
    };
    let (subject, body, page) = match (f.status, f.pool_id) {
        (FormationStatus::Approved, Some(pool)) => (
            "formation-approved-subject",
            "formation-approved-body",
            Page::Pool(pool),
        ),
        (FormationStatus::Rejected, _) => (
            "formation-rejected-subject",
            "formation-rejected-body",
            Page::Formation(f.id),
        ),
        _ => return Ok(None),
    };
    let (Some(person), Some(parent)) = (
        follower(state, f.founder_id, Topic::Decisions).await?,
        parent_entity::Entity::find_by_id(f.parent_entity_id)
            .one(&state.db)
            .await?,
    ) else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let args = [
        ("name", formation_name(&f)),
        ("parent", parent.name.as_str()),
    ];
    let mut paragraphs = vec![d.t(body, &args)];
    if let Some(reason) = f
        .rejection_reason
        .as_deref()
        .filter(|_| page == Page::Formation(f.id))
    {
        paragraphs.push(d.t("reason-given", &[("reason", reason)]));
    }
    let letter = d.letter(
        &person.email,
        &person.display_name,
        d.t(subject, &args),
        paragraphs,
        d.action("formation-action", &args, links::to(state, page, None)),
        None,
        "footer-account",
    );
    Ok(Some(d.optional(letter, &person, Topic::Decisions)))
}

/// A proposal open for a member's vote: when it opens, and (`closing`)
/// once more before it closes if they have not voted by then.
async fn proposal_notice(
    state: &AppState,
    id: Uuid,
    membership_id: Uuid,
    closing: bool,
) -> AppResult<Option<Letter>> {
    let Some(p) = proposal::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|p| p.status == ProposalStatus::Open && p.closes_at > Utc::now())
    else {
        return Ok(None);
    };
    let Some(member) = membership::Entity::find_by_id(membership_id)
        .one(&state.db)
        .await?
        .filter(|m| m.status == membership::MembershipStatus::Active)
    else {
        return Ok(None);
    };
    let Some(user_id) = member.user_id else {
        return Ok(None);
    };
    if closing {
        let voted = vote::Entity::find()
            .filter(vote::Column::ProposalId.eq(p.id))
            .filter(vote::Column::MembershipId.eq(member.id))
            .count(&state.db)
            .await?
            > 0;
        if voted {
            return Ok(None);
        }
    }
    let (Some(person), Some(pool)) = (
        follower(state, user_id, Topic::Proposals).await?,
        pool::Entity::find_by_id(p.pool_id).one(&state.db).await?,
    ) else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let closes = when(p.closes_at);
    let args = [
        ("pool", pool.name.as_str()),
        ("title", p.title.as_str()),
        ("closes", closes.as_str()),
    ];
    let (subject, body) = if closing {
        ("proposal-closing-subject", "proposal-closing-body")
    } else {
        ("proposal-opened-subject", "proposal-opened-body")
    };
    let letter = d.letter(
        &person.email,
        &person.display_name,
        d.t(subject, &args),
        vec![d.t(body, &args)],
        d.action(
            "proposal-action",
            &args,
            links::to(state, Page::Proposal(p.id), None),
        ),
        None,
        "footer-account",
    );
    Ok(Some(d.optional(letter, &person, Topic::Proposals)))
}

/// A contribution that could not be collected, while that is still so.
async fn payment_failed(state: &AppState, id: Uuid) -> AppResult<Option<Letter>> {
    let Some(c) = contribution::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|c| {
            c.status == ContributionStatus::PastDue
                || (c.status == ContributionStatus::Canceled && c.failure_code.is_some())
        })
    else {
        return Ok(None);
    };
    let (Some(person), Some(pool)) = (
        live_user(state, c.user_id).await?,
        pool::Entity::find_by_id(c.pool_id).one(&state.db).await?,
    ) else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let amount = format!(
        "{} {}",
        crate::domain::format_minor(c.amount, &c.currency),
        c.currency.to_uppercase()
    );
    let args = [("pool", pool.name.as_str()), ("amount", amount.as_str())];
    Ok(Some(d.letter(
        &person.email,
        &person.display_name,
        d.t("payment-failed-subject", &args),
        vec![d.t("payment-failed-body", &args)],
        d.action(
            "payment-failed-action",
            &args,
            links::to(state, Page::Contributions, None),
        ),
        None,
        "footer-account",
    )))
}

/// A change of the pool's standing, if the pool still stands as it did.
async fn pool_standing(
    state: &AppState,
    pool_id: Uuid,
    membership_id: Uuid,
    expected: PoolStatus,
    (subject, body): (&str, &str),
) -> AppResult<Option<Letter>> {
    let Some(pool) = pool::Entity::find_by_id(pool_id)
        .one(&state.db)
        .await?
        .filter(|p| p.status == expected)
    else {
        return Ok(None);
    };
    let Some(user_id) = membership::Entity::find_by_id(membership_id)
        .one(&state.db)
        .await?
        .filter(|m| m.status == membership::MembershipStatus::Active)
        .and_then(|m| m.user_id)
    else {
        return Ok(None);
    };
    let Some(person) = live_user(state, user_id).await? else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let reason = pool.status_reason.clone().unwrap_or_default();
    let args = [("pool", pool.name.as_str()), ("reason", reason.as_str())];
    Ok(Some(d.letter(
        &person.email,
        &person.display_name,
        d.t(subject, &args),
        vec![d.t(body, &args)],
        d.action(
            "pool-standing-action",
            &args,
            links::to(state, Page::Pool(pool.id), None),
        ),
        None,
        "footer-account",
    )))
}

/// A steward's task, if it still waits and they are still a steward of the
/// parent that decides it.
async fn steward_asked(
    state: &AppState,
    task: StewardTask,
    steward: Uuid,
) -> AppResult<Option<Letter>> {
    let (parent_id, pool_id, page, key) = match task {
        StewardTask::RulesChange { proposal_id } => {
            let Some(p) = proposal::Entity::find_by_id(proposal_id)
                .one(&state.db)
                .await?
                .filter(|p| p.rules_change_status == Some(RulesChangeStatus::AwaitingParent))
            else {
                return Ok(None);
            };
            let Some(pool) = pool::Entity::find_by_id(p.pool_id).one(&state.db).await? else {
                return Ok(None);
            };
            (
                pool.parent_entity_id,
                pool.id,
                Page::Proposal(p.id),
                "rules-change-waits",
            )
        }
        StewardTask::PoolMove { move_id } => {
            let Some(m) = pool_move::Entity::find_by_id(move_id)
                .one(&state.db)
                .await?
                .filter(|m| m.status == MoveStatus::Pending)
            else {
                return Ok(None);
            };
            // Either parent may be asked; each steward decides for theirs.
            let parent =
                match parent_role_of(state, steward, &[m.to_parent_id, m.from_parent_id]).await? {
                    Some(p) => p,
                    None => return Ok(None),
                };
            (parent, m.pool_id, Page::Pool(m.pool_id), "pool-move-waits")
        }
        StewardTask::Dissolution { dissolution_id } => {
            let Some(d) = pool_dissolution::Entity::find_by_id(dissolution_id)
                .one(&state.db)
                .await?
                .filter(|d| d.status == DissolutionStatus::AwaitingConsent)
            else {
                return Ok(None);
            };
            (
                d.parent_entity_id,
                d.pool_id,
                Page::Pool(d.pool_id),
                "dissolution-waits",
            )
        }
    };
    if parent_role_of(state, steward, &[parent_id])
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let (Some(person), Some(pool), Some(parent)) = (
        follower(state, steward, Topic::FormationReviews).await?,
        pool::Entity::find_by_id(pool_id).one(&state.db).await?,
        parent_entity::Entity::find_by_id(parent_id)
            .one(&state.db)
            .await?,
    ) else {
        return Ok(None);
    };
    let d = draft(state, Some(&person));
    let args = [
        ("pool", pool.name.as_str()),
        ("parent", parent.name.as_str()),
    ];
    let letter = d.letter(
        &person.email,
        &person.display_name,
        d.t(&format!("{key}-subject"), &args),
        vec![d.t(&format!("{key}-body"), &args)],
        d.action(
            &format!("{key}-action"),
            &args,
            links::to(state, page, None),
        ),
        None,
        "footer-account",
    );
    Ok(Some(d.optional(letter, &person, Topic::FormationReviews)))
}

/// The first of `parents` where `user` is an active steward.
async fn parent_role_of(state: &AppState, user: Uuid, parents: &[Uuid]) -> AppResult<Option<Uuid>> {
    for parent in parents {
        let steward = parent_entity_role::Entity::find()
            .filter(parent_entity_role::Column::ParentEntityId.eq(*parent))
            .filter(parent_entity_role::Column::UserId.eq(user))
            .filter(parent_entity_role::Column::Role.eq(RoleKind::Steward))
            .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
            .count(&state.db)
            .await?
            > 0;
        if steward {
            return Ok(Some(*parent));
        }
    }
    Ok(None)
}
