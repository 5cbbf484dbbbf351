//! Formation: the guided, resumable flow from stakeholder groups to an
//! approved pool. `steps` edits a draft, `evaluate` says what is missing,
//! `lifecycle` submits and decides, `governance` renders the rules.

pub mod draft;
pub mod evaluate;
pub mod governance;
pub mod lifecycle;
pub mod names;
pub mod recommend;
pub mod steps;

use entities::{
    formation::{self, FormationStatus},
    formation_founding_member, parent_entity, user,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::PoolName,
    error::{AppError, AppResult},
    services::{
        pagination::{Page, PageRequest, paginate},
        policy::ParentPolicy,
    },
    state::AppState,
};

use self::{
    draft::Draft,
    evaluate::{Evaluation, Facts, evaluate},
};

pub async fn load_draft(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Draft> {
    load_draft_in(db, id).await
}

pub(crate) async fn load_draft_in(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Draft> {
    let formation = steps::find(db, id).await?;
    let members = formation_founding_member::Entity::find()
        .filter(formation_founding_member::Column::FormationId.eq(id))
        .order_by_asc(formation_founding_member::Column::Position)
        .all(db)
        .await?;
    Draft::read(formation, members)
}

/// Evaluates a draft against its parent, the catalogue and the names in use.
pub async fn evaluate_draft(
    state: &AppState,
    db: &impl ConnectionTrait,
    draft: &Draft,
) -> AppResult<(parent_entity::Model, Evaluation)> {
    let f = &draft.formation;
    let parent = parent_entity::Entity::find_by_id(f.parent_entity_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("formation {} has no parent", f.id)))?;
    let founder_email = user::Entity::find_by_id(f.founder_id)
        .select_only()
        .column(user::Column::Email)
        .into_tuple::<String>()
        .one(db)
        .await?
        .unwrap_or_default();
    let name_available = match f.name.as_deref().map(|n| PoolName::parse(n, "name")) {
        Some(Ok(name)) => {
            match names::unavailable_reason(db, parent.id, &name, Some(f.id)).await? {
                Some(reason) => Err(reason),
                None => Ok(()),
            }
        }
        Some(Err(e)) => Err(e.message),
        None => Ok(()),
    };
    let policy = ParentPolicy::of(&parent);
    let evaluation = evaluate(
        draft,
        &Facts {
            catalogue: &state.catalogue,
            policy: &policy,
            parent_jurisdiction: &parent.jurisdiction,
            founder_email: &founder_email,
            name_available,
        },
    );
    Ok((parent, evaluation))
}

/// A formation, for those who may see it: its founder, founding members
/// with accounts, and (once submitted) the parent's stewards and auditors.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<formation::Model> {
    let formation = steps::find(&state.db, id).await?;
    if formation.founder_id == actor.user_id {
        return Ok(formation);
    }
    let email = user::Entity::find_by_id(actor.user_id)
        .select_only()
        .column(user::Column::Email)
        .into_tuple::<String>()
        .one(&state.db)
        .await?
        .unwrap_or_default();
    let listed = formation_founding_member::Entity::find()
        .filter(formation_founding_member::Column::FormationId.eq(id))
        .filter(formation_founding_member::Column::Email.eq(email))
        .one(&state.db)
        .await?
        .is_some();
    if listed && formation.founding_members_set {
        return Ok(formation);
    }
    if formation.submitted_at.is_some()
        && permissions::parent_role(&state.db, formation.parent_entity_id, actor.user_id)
            .await?
            .is_some()
    {
        return Ok(formation);
    }
    Err(AppError::Forbidden(
        "only the founder, the founding members and (once submitted) the parent's stewards and auditors may see this formation".into(),
    ))
}

/// Formations the caller started or is listed in, oldest first.
pub async fn mine(
    state: &AppState,
    actor: &Actor,
    page: PageRequest,
) -> AppResult<Page<formation::Model>> {
    let email = user::Entity::find_by_id(actor.user_id)
        .select_only()
        .column(user::Column::Email)
        .into_tuple::<String>()
        .one(&state.db)
        .await?
        .unwrap_or_default();
    let listed_in = formation_founding_member::Entity::find()
        .select_only()
        .column(formation_founding_member::Column::FormationId)
        .filter(formation_founding_member::Column::Email.eq(email))
        .into_query();
    let select = formation::Entity::find().filter(
        Condition::any()
            .add(formation::Column::FounderId.eq(actor.user_id))
            .add(formation::Column::Id.in_subquery(listed_in)),
    );
    paginate(&state.db, select, formation::Column::Id, page).await
}

/// Formations submitted to a parent entity, for its stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    status: Option<FormationStatus>,
    page: PageRequest,
) -> AppResult<Page<formation::Model>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let mut select = formation::Entity::find()
        .filter(formation::Column::ParentEntityId.eq(parent_entity_id))
        .filter(formation::Column::SubmittedAt.is_not_null());
    if let Some(status) = status {
        select = select.filter(formation::Column::Status.eq(status));
    }
    paginate(&state.db, select, formation::Column::Id, page).await
}
