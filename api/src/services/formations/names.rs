//! Whether a name is free within a parent entity, and alternatives if not.
//! A name is taken by a pool of the parent, or by a formation already
//! submitted to it; drafts reserve nothing.

use std::collections::HashSet;

use entities::{
    formation::{self, FormationStatus},
    pool,
};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{domain::PoolName, error::AppResult};

pub struct NameAvailability {
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// The name as it would be stored.
    pub normalized_name: Option<String>,
    pub slug: Option<String>,
    /// Up to three free alternatives.
    pub suggestions: Vec<String>,
}

pub async fn availability(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    jurisdiction: &str,
    raw: &str,
    exclude_formation: Option<Uuid>,
) -> AppResult<NameAvailability> {
    let name = match PoolName::parse(raw, "name") {
        Ok(name) => name,
        Err(e) => {
            return Ok(NameAvailability {
                available: false,
                reason: Some(format!("the name {}", e.message)),
                normalized_name: None,
                slug: None,
                suggestions: Vec::new(),
            });
        }
    };
    let reason = unavailable_reason(db, parent_entity_id, &name, exclude_formation).await?;
    let suggestions = match reason {
        None => Vec::new(),
        Some(_) => {
            suggestions(db, parent_entity_id, jurisdiction, &name, exclude_formation).await?
        }
    };
    Ok(NameAvailability {
        available: reason.is_none(),
        reason,
        normalized_name: Some(name.as_str().to_owned()),
        slug: Some(name.slug().to_owned()),
        suggestions,
    })
}

/// `Some(reason)` when another pool or submitted formation has the name.
pub async fn unavailable_reason(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    name: &PoolName,
    exclude_formation: Option<Uuid>,
) -> AppResult<Option<String>> {
    let taken = taken(
        db,
        parent_entity_id,
        std::slice::from_ref(name),
        exclude_formation,
    )
    .await?;
    Ok(taken.contains(name.key()).then(|| {
        format!("`{}` is already used under this parent entity (case, accents and punctuation are ignored)", name.as_str())
    }))
}

/// Which of `names` are taken, by key (a slug clash counts as the key).
async fn taken(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    names: &[PoolName],
    exclude_formation: Option<Uuid>,
) -> AppResult<HashSet<String>> {
    let keys: Vec<&str> = names.iter().map(PoolName::key).collect();
    let slugs: Vec<&str> = names.iter().map(PoolName::slug).collect();
    let pools: Vec<(String, String)> = pool::Entity::find()
        .select_only()
        .column(pool::Column::NameKey)
        .column(pool::Column::Slug)
        .filter(pool::Column::ParentEntityId.eq(parent_entity_id))
        .filter(
            Condition::any()
                .add(pool::Column::NameKey.is_in(keys.clone()))
                .add(pool::Column::Slug.is_in(slugs.clone())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut submitted = formation::Entity::find()
        .select_only()
        .column(formation::Column::NameKey)
        .column(formation::Column::Slug)
        .filter(formation::Column::ParentEntityId.eq(parent_entity_id))
        .filter(formation::Column::Status.eq(FormationStatus::Submitted))
        .filter(
            Condition::any()
                .add(formation::Column::NameKey.is_in(keys))
                .add(formation::Column::Slug.is_in(slugs)),
        );
    if let Some(id) = exclude_formation {
        submitted = submitted.filter(formation::Column::Id.ne(id));
    }
    let formations: Vec<(Option<String>, Option<String>)> = submitted.into_tuple().all(db).await?;
    let used_keys: HashSet<String> = pools
        .iter()
        .map(|(k, _)| k.clone())
        .chain(formations.iter().filter_map(|(k, _)| k.clone()))
        .collect();
    let used_slugs: HashSet<String> = pools
        .into_iter()
        .map(|(_, s)| s)
        .chain(formations.into_iter().filter_map(|(_, s)| s))
        .collect();
    Ok(names
        .iter()
        .filter(|n| used_keys.contains(n.key()) || used_slugs.contains(n.slug()))
        .map(|n| n.key().to_owned())
        .collect())
}

async fn suggestions(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    jurisdiction: &str,
    name: &PoolName,
    exclude_formation: Option<Uuid>,
) -> AppResult<Vec<String>> {
    let base = name.as_str();
    let candidates: Vec<PoolName> = [
        format!("{base} Co-op"),
        format!("{base} Collective"),
        format!("{base} {jurisdiction}"),
        format!("{base} 2"),
        format!("{base} 3"),
        format!("{base} 4"),
    ]
    .iter()
    .filter_map(|c| PoolName::parse(c, "name").ok())
    .collect();
    let taken = taken(db, parent_entity_id, &candidates, exclude_formation).await?;
    Ok(candidates
        .into_iter()
        .filter(|c| !taken.contains(c.key()))
        .take(3)
        .map(|c| c.as_str().to_owned())
        .collect())
}
