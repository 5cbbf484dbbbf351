//! Formation: the guided, resumable flow from stakeholder groups to an
//! approved pool. `steps` edits a draft, `evaluate` says what is missing,
//! `lifecycle` submits and decides, `founding` writes the approved pool,
//! `governance` renders the rules.

pub mod apps;
mod contradictions;
pub mod contribution_rules;
pub mod draft;
pub mod evaluate;
mod founding;
pub mod governance;
pub mod group_fields;
pub mod lifecycle;
pub mod names;
pub mod principles;
pub mod recommend;
pub mod steps;
pub mod template_fit;

use std::collections::HashMap;

use entities::{
    formation::{self, FormationStatus},
    formation_founding_member, parent_entity, user,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    domain::PoolName,
    error::{AppError, AppResult},
    services::{
        pagination::{Page, PageArgs, PageRequest, paginate},
        policy::ParentPolicy,
    },
    state::AppState,
};

use self::{
    draft::Draft,
    evaluate::{Evaluation, Facts, evaluate},
};

pub async fn load_draft(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Draft> {
    load_draft_from(db, steps::find(db, id).await?).await
}

/// The draft of a formation already read (locked, in a write).
pub(crate) async fn load_draft_from(
    db: &impl ConnectionTrait,
    formation: formation::Model,
) -> AppResult<Draft> {
    let members = formation_founding_member::Entity::find()
        .filter(formation_founding_member::Column::FormationId.eq(formation.id))
        .order_by_asc(formation_founding_member::Column::Position)
        .all(db)
        .await?;
    Draft::read(formation, members)
}

/// Reads a page of formations as drafts: one query for all their members.
async fn drafts(db: &impl ConnectionTrait, page: Page<formation::Model>) -> AppResult<Page<Draft>> {
    let ids: Vec<Uuid> = page.items.iter().map(|f| f.id).collect();
    let mut members: HashMap<Uuid, Vec<formation_founding_member::Model>> = HashMap::new();
    if !ids.is_empty() {
        for m in formation_founding_member::Entity::find()
            .filter(formation_founding_member::Column::FormationId.is_in(ids))
            .order_by_asc(formation_founding_member::Column::Position)
            .all(db)
            .await?
        {
            members.entry(m.formation_id).or_default().push(m);
        }
    }
    let mut items = Vec::with_capacity(page.items.len());
    for f in page.items {
        let listed = members.remove(&f.id).unwrap_or_default();
        items.push(Draft::read(f, listed)?);
    }
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// What evaluating a draft needs from the database besides the draft.
#[derive(Clone)]
pub struct DraftFacts {
    pub parent: parent_entity::Model,
    pub founder_email: String,
    /// `Err(reason)` when the chosen name is taken.
    pub name_available: Result<(), String>,
}

/// The facts for many formations at once: four queries whatever their number.
pub async fn facts(
    db: &impl ConnectionTrait,
    formations: &[&formation::Model],
) -> AppResult<HashMap<Uuid, DraftFacts>> {
    if formations.is_empty() {
        return Ok(HashMap::new());
    }
    let parents: HashMap<Uuid, parent_entity::Model> = parent_entity::Entity::find()
        .filter(parent_entity::Column::Id.is_in(formations.iter().map(|f| f.parent_entity_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let founders: HashMap<Uuid, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(formations.iter().map(|f| f.founder_id)))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // Names as stored may no longer parse if the rules tightened; say so.
    let mut wanted = Vec::new();
    let mut owners = Vec::new();
    let mut unparsable = HashMap::new();
    for f in formations {
        if let Some(raw) = &f.name {
            match PoolName::parse(raw, "name") {
                Ok(name) => {
                    wanted.push(names::Wanted {
                        parent_entity_id: f.parent_entity_id,
                        key: name.key().to_owned(),
                        slug: name.slug().to_owned(),
                        formation_id: Some(f.id),
                    });
                    owners.push((f.id, name.as_str().to_owned()));
                }
                Err(e) => {
                    unparsable.insert(f.id, format!("the name {}", e.message));
                }
            }
        }
    }
    let taken = names::taken_batch(db, &wanted).await?;
    let mut taken_reason: HashMap<Uuid, String> = owners
        .into_iter()
        .enumerate()
        .filter(|(i, _)| taken.contains(i))
        .map(|(_, (id, name))| (id, format!("`{name}` is already used under this parent entity (case, accents and punctuation are ignored)")))
        .collect();
    taken_reason.extend(unparsable);
    formations
        .iter()
        .map(|f| {
            let parent = parents.get(&f.parent_entity_id).cloned().ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("formation {} has no parent", f.id))
            })?;
            let facts = DraftFacts {
                parent,
                founder_email: founders.get(&f.founder_id).cloned().unwrap_or_default(),
                name_available: taken_reason.get(&f.id).map_or(Ok(()), |r| Err(r.clone())),
            };
            Ok((f.id, facts))
        })
        .collect()
}

/// Evaluates a draft with its facts.
pub fn evaluate_with(state: &AppState, draft: &Draft, facts: &DraftFacts) -> Evaluation {
    let policy = ParentPolicy::of(&facts.parent);
    evaluate(
        draft,
        &Facts {
            catalogue: &state.catalogue,
            policy: &policy,
            parent_jurisdiction: &facts.parent.jurisdiction,
            founder_email: &facts.founder_email,
            name_available: facts.name_available.clone(),
        },
    )
}

/// Evaluates one draft against its parent, the catalogue and the names in use.
pub async fn evaluate_draft(
    state: &AppState,
    db: &impl ConnectionTrait,
    draft: &Draft,
) -> AppResult<(parent_entity::Model, Evaluation)> {
    let mut all = facts(db, &[&draft.formation]).await?;
    let facts = all.remove(&draft.formation.id).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "no facts for formation {}",
            draft.formation.id
        ))
    })?;
    let evaluation = evaluate_with(state, draft, &facts);
    Ok((facts.parent, evaluation))
}

/// A person's (normalised) email.
async fn email_of(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<String> {
    Ok(user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::Email)
        .into_tuple::<String>()
        .one(db)
        .await?
        .unwrap_or_default())
}

/// A formation, for those who may see it (see [`sees`]); to others it does
/// not exist.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<Draft> {
    let draft = load_draft(&state.db, id).await?;
    require_seen(&state.db, actor, &draft.formation).await?;
    Ok(draft)
}

/// `checked` (a permission check on `formation`), refused as `auth::access`
/// says: those who may not see the formation are told it does not exist.
pub(crate) async fn unless_seen<T>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    formation: &formation::Model,
    checked: AppResult<T>,
) -> AppResult<T> {
    access::unless_seen(checked, "formation", formation.id, async || {
        sees(db, actor, formation).await
    })
    .await
}

/// `NOT_FOUND`, as for a missing id, unless the caller sees the formation.
pub(crate) async fn require_seen(
    db: &impl ConnectionTrait,
    actor: &Actor,
    formation: &formation::Model,
) -> AppResult<()> {
    if sees(db, actor, formation).await? {
        Ok(())
    } else {
        Err(access::not_found("formation", formation.id))
    }
}

/// Who sees a formation: its founder, its founding members with accounts,
/// and, once it is submitted, the parent's stewards and auditors.
pub(crate) async fn sees(
    db: &impl ConnectionTrait,
    actor: &Actor,
    formation: &formation::Model,
) -> AppResult<bool> {
    if formation.founder_id == actor.user_id {
        return Ok(true);
    }
    if formation.submitted_at.is_some()
        && permissions::parent_role(db, formation.parent_entity_id, actor.user_id)
            .await?
            .is_some()
    {
        return Ok(true);
    }
    let email = email_of(db, actor.user_id).await?;
    Ok(formation_founding_member::Entity::find()
        .filter(formation_founding_member::Column::FormationId.eq(formation.id))
        .filter(formation_founding_member::Column::Email.eq(email))
        .count(db)
        .await?
        > 0)
}

/// [`mine`], asked on a person: only they may list theirs.
pub async fn of_person(
    state: &AppState,
    actor: &Actor,
    person: Uuid,
    page: PageArgs,
) -> AppResult<Page<Draft>> {
    crate::services::accounts::require_self(actor, person, "formations")?;
    mine(state, actor, page.parse()?).await
}

/// The formations of `ids` that `viewer` sees (as [`sees`] decides), as
/// drafts: four statements for any number, so that a list of pools can
/// show each one's formation.
pub async fn seen_by(
    db: &impl ConnectionTrait,
    viewer: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Draft>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let formations = formation::Entity::find()
        .filter(formation::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let page = drafts(
        db,
        Page {
            items: formations,
            has_next_page: false,
            has_previous_page: false,
        },
    )
    .await?;
    let email = email_of(db, viewer).await?;
    let parents: Vec<Uuid> = page
        .items
        .iter()
        .map(|d| d.formation.parent_entity_id)
        .collect();
    let overseen = permissions::parents_with_role(db, &parents, viewer).await?;
    Ok(page
        .items
        .into_iter()
        .filter(|d| {
            let f = &d.formation;
            f.founder_id == viewer
                || (f.submitted_at.is_some() && overseen.contains(&f.parent_entity_id))
                || d.members.iter().flatten().any(|m| m.email == email)
        })
        .map(|d| (d.formation.id, d))
        .collect())
}

/// Formations the caller started or is listed in, oldest first.
pub async fn mine(state: &AppState, actor: &Actor, page: PageRequest) -> AppResult<Page<Draft>> {
    let email = email_of(&state.db, actor.user_id).await?;
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
    drafts(
        &state.db,
        paginate(&state.db, select, formation::Column::Id, page).await?,
    )
    .await
}

/// Formations submitted to a parent entity, for its stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    status: Option<FormationStatus>,
    page: PageRequest,
) -> AppResult<Page<Draft>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let mut select = formation::Entity::find()
        .filter(formation::Column::ParentEntityId.eq(parent_entity_id))
        .filter(formation::Column::SubmittedAt.is_not_null());
    if let Some(status) = status {
        select = select.filter(formation::Column::Status.eq(status));
    }
    drafts(
        &state.db,
        paginate(&state.db, select, formation::Column::Id, page).await?,
    )
    .await
}
