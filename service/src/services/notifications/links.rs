//! The links messages carry: pages of the frontend (`APP_URL`), each
//! taking the token the page hands to the matching mutation.

use uuid::Uuid;

use crate::{auth::tokens, state::AppState};

/// Prefix of the tokens in account links (confirmation, reset, change).
pub const ACCOUNT_PREFIX: &str = "pat1_";

/// Prefix of invitation tokens.
pub const INVITATION_PREFIX: &str = "inv_";

/// A link's page in the frontend, as documented in the README.
#[derive(Clone, Copy, Debug)]
pub enum Page {
    /// `confirmEmail(token)`.
    ConfirmEmail,
    /// `resetPassword(token, newPassword)`.
    ResetPassword,
    /// `acceptInvitation(token)`.
    AcceptInvitation,
    /// The person's invitations (`me.invitations`, `me.roleInvitations`).
    Invitations,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "/confirm-email",
            Self::ResetPassword => "/reset-password",
            Self::AcceptInvitation => "/invitations/accept",
            Self::Invitations => "/invitations",
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
