//! Where an id belongs: the pool and parent entity of any row a mutation
//! can name, so a refused attempt lands in the chain its target's auditors
//! read. Used only on refusals; each lookup is one primary-key query.

use entities::{
    application, contribution, delegation, expense, formation, ledger_entry, membership,
    parent_entity, pool, proposal, sliding_scale, stakeholder_group,
};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::AppResult;

/// The pool (if any) and parent entity an id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub entity_type: &'static str,
    pub pool_id: Option<Uuid>,
    pub parent_entity_id: Uuid,
}

pub async fn scope_of(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Scope>> {
    if let Some(p) = pool::Entity::find_by_id(id).one(db).await? {
        return Ok(Some(in_pool("Pool", &p)));
    }
    if parent_entity::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(Some(Scope {
            entity_type: "ParentEntity",
            pool_id: None,
            parent_entity_id: id,
        }));
    }
    if let Some(f) = formation::Entity::find_by_id(id).one(db).await? {
        return Ok(Some(Scope {
            entity_type: "Formation",
            pool_id: f.pool_id,
            parent_entity_id: f.parent_entity_id,
        }));
    }
    let pool_row = if let Some(m) = membership::Entity::find_by_id(id).one(db).await? {
        Some(("Member", m.pool_id))
    } else if let Some(p) = proposal::Entity::find_by_id(id).one(db).await? {
        Some(("Proposal", p.pool_id))
    } else if let Some(e) = expense::Entity::find_by_id(id).one(db).await? {
        Some(("Expense", e.pool_id))
    } else if let Some(c) = contribution::Entity::find_by_id(id).one(db).await? {
        Some(("Contribution", c.pool_id))
    } else if let Some(a) = application::Entity::find_by_id(id).one(db).await? {
        Some(("MembershipApplication", a.pool_id))
    } else if let Some(g) = stakeholder_group::Entity::find_by_id(id).one(db).await? {
        Some(("StakeholderGroup", g.pool_id))
    } else if let Some(s) = sliding_scale::Entity::find_by_id(id).one(db).await? {
        Some(("SlidingScale", s.pool_id))
    } else if let Some(d) = delegation::Entity::find_by_id(id).one(db).await? {
        Some(("Delegation", d.pool_id))
    } else if let Some(l) = ledger_entry::Entity::find_by_id(id).one(db).await? {
        Some(("LedgerEntry", l.pool_id))
    } else {
        None
    };
    let Some((entity_type, pool_id)) = pool_row else {
        return Ok(None);
    };
    Ok(pool::Entity::find_by_id(pool_id)
        .one(db)
        .await?
        .map(|p| in_pool(entity_type, &p)))
}

fn in_pool(entity_type: &'static str, p: &pool::Model) -> Scope {
    Scope {
        entity_type,
        pool_id: Some(p.id),
        parent_entity_id: p.parent_entity_id,
    }
}
