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
    let wanted: Vec<Wanted> = names
        .iter()
        .map(|n| Wanted {
            parent_entity_id,
            key: n.key().to_owned(),
            slug: n.slug().to_owned(),
            formation_id: exclude_formation,
        })
        .collect();
    let taken = taken_batch(db, &wanted).await?;
    Ok(wanted
        .into_iter()
        .enumerate()
        .filter(|(i, _)| taken.contains(i))
        .map(|(_, w)| w.key)
        .collect())
}

/// A name wanted under a parent, by a formation (which does not clash with itself).
pub struct Wanted {
    pub parent_entity_id: Uuid,
    pub key: String,
    pub slug: String,
    pub formation_id: Option<Uuid>,
}

/// The indexes of `wanted` whose key or slug another pool or submitted
/// formation of the same parent already uses. Two queries for any number.
pub async fn taken_batch(
    db: &impl ConnectionTrait,
    wanted: &[Wanted],
) -> AppResult<HashSet<usize>> {
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let parents: HashSet<Uuid> = wanted.iter().map(|w| w.parent_entity_id).collect();
    let keys: HashSet<&str> = wanted.iter().map(|w| w.key.as_str()).collect();
    let slugs: HashSet<&str> = wanted.iter().map(|w| w.slug.as_str()).collect();
    let pools: Vec<(Uuid, String, String)> = pool::Entity::find()
        .select_only()
        .column(pool::Column::ParentEntityId)
        .column(pool::Column::NameKey)
        .column(pool::Column::Slug)
        .filter(pool::Column::ParentEntityId.is_in(parents.iter().copied()))
        .filter(
            Condition::any()
                .add(pool::Column::NameKey.is_in(keys.iter().copied()))
                .add(pool::Column::Slug.is_in(slugs.iter().copied())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let formations: Vec<(Uuid, Uuid, Option<String>, Option<String>)> = formation::Entity::find()
        .select_only()
        .column(formation::Column::Id)
        .column(formation::Column::ParentEntityId)
        .column(formation::Column::NameKey)
        .column(formation::Column::Slug)
        .filter(formation::Column::ParentEntityId.is_in(parents.iter().copied()))
        .filter(formation::Column::Status.eq(FormationStatus::Submitted))
        .filter(
            Condition::any()
                .add(formation::Column::NameKey.is_in(keys.iter().copied()))
                .add(formation::Column::Slug.is_in(slugs.iter().copied())),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(wanted
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            let clash = |key: Option<&str>, slug: Option<&str>| {
                key == Some(w.key.as_str()) || slug == Some(w.slug.as_str())
            };
            pools
                .iter()
                .any(|(p, k, s)| *p == w.parent_entity_id && clash(Some(k), Some(s)))
                || formations.iter().any(|(id, p, k, s)| {
                    *p == w.parent_entity_id
                        && Some(*id) != w.formation_id
                        && clash(k.as_deref(), s.as_deref())
                })
        })
        .map(|(i, _)| i)
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
