//! The person's side of membership: the memberships they hold and held,
//! and the invitations waiting for their email. Only they may list them.

use chrono::Utc;
use entities::{
    invitation,
    membership::{self, MembershipStatus},
    user,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::{
    auth::Actor,
    error::AppResult,
    services::{
        accounts::require_self,
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// Every membership `person` holds or held, oldest first; `status`
/// narrows them (`ACTIVE`: the pools they are in now).
pub async fn memberships(
    state: &AppState,
    actor: &Actor,
    person: &user::Model,
    status: Option<MembershipStatus>,
    page: PageArgs,
) -> AppResult<Page<membership::Model>> {
    require_self(actor, person.id, "memberships")?;
    let page = page.parse()?;
    let mut select = membership::Entity::find().filter(membership::Column::UserId.eq(person.id));
    if let Some(status) = status {
        select = select.filter(membership::Column::Status.eq(status));
    }
    paginate(&state.db, select, membership::Column::Id, page).await
}

/// The invitations to pools waiting for `person`'s email: not accepted,
/// not replaced, not expired, and their membership still INVITED (an
/// admin may have withdrawn it).
pub async fn invitations(
    state: &AppState,
    actor: &Actor,
    person: &user::Model,
    page: PageArgs,
) -> AppResult<Page<invitation::Model>> {
    require_self(actor, person.id, "invitations")?;
    let page = page.parse()?;
    let still_invited = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::Status.eq(MembershipStatus::Invited))
        .filter(membership::Column::LeftAt.is_null())
        .into_query();
    let select = invitation::Entity::find()
        .filter(invitation::Column::Email.eq(person.email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .filter(invitation::Column::MembershipId.in_subquery(still_invited));
    paginate(&state.db, select, invitation::Column::Id, page).await
}
