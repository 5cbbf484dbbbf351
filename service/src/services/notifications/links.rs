//! The links messages carry: pages of the frontend (`APP_URL`), each
//! taking the token the page hands to the matching mutation.

use uuid::Uuid;

use crate::{auth::tokens, state::AppState};

/// Prefix of the tokens in account links (confirmation, reset, change).
pub const ACCOUNT_PREFIX: &str = "pat1_";

/// Prefix of invitation tokens.
pub const INVITATION_PREFIX: &str = "inv_";

/// A link's page in the frontend, as documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// `confirmEmail(token)`.
    ConfirmEmail,
    /// `resetPassword(token, newPassword)`.
    ResetPassword,
    /// `acceptInvitation(token)`.
    AcceptInvitation,
    /// The person's invitations (`me.invitations`, `me.roleInvitations`).
    Invitations,
    /// A pool (`pool(id)`).
    Pool(Uuid),
    /// A formation (`formation(id)`).
    Formation(Uuid),
    /// A proposal, to read and vote (`node(id)`).
    Proposal(Uuid),
    /// The person's contributions (`myContributions`).
    Contributions,
}

impl Page {
    fn path(self) -> String {
        match self {
            Self::ConfirmEmail => "/confirm-email".into(),
            Self::ResetPassword => "/reset-password".into(),
            Self::AcceptInvitation => "/invitations/accept".into(),
            Self::Invitations => "/invitations".into(),
            Self::Pool(id) => format!("/pools/{id}"),
            Self::Formation(id) => format!("/formations/{id}"),
            Self::Proposal(id) => format!("/proposals/{id}"),
            Self::Contributions => "/contributions".into(),
        }
    }
}

/// The page's address, with `token` when it takes one.
pub fn to(state: &AppState, page: Page, token: Option<&str>) -> String {
    let base = format!("{}{}", state.app_url, page.path());
    match token {
        Some(t) => format!("{base}?token={t}"),
        None => base,
    }
}

/// The secret of an account link, made again from its row's id.
pub fn account_token(state: &AppState, id: Uuid) -> String {
    tokens::derived(
        state.config.auth_secret.expose(),
        ACCOUNT_PREFIX,
        "account",
        id,
    )
}

/// An invitation's token, made again from its id: the admin is shown it
/// once, and the email job puts the same one in its link.
pub fn invitation_token(state: &AppState, id: Uuid) -> String {
    tokens::derived(
        state.config.auth_secret.expose(),
        INVITATION_PREFIX,
        "invitation",
        id,
    )
}
