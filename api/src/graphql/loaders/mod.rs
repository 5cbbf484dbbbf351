//! One DataLoader per relation: each batches the keys of one request into a
//! single `IN (…)` query. New loaders per request, so nothing is cached
//! between callers.

mod by_id;
mod formation_facts;

use async_graphql::dataloader::DataLoader;
use entities::{
    expense, membership, parent_entity, pool, pool_app, proposal, stakeholder_group, user,
};

pub use by_id::{ById, ByParent, Keyed, Owned};
pub use formation_facts::FormationFactsLoader;

use crate::state::AppState;

pub struct Loaders {
    pub users: DataLoader<ById<user::Entity>>,
    pub parent_entities: DataLoader<ById<parent_entity::Entity>>,
    pub stakeholder_groups: DataLoader<ById<stakeholder_group::Entity>>,
    pub pools: DataLoader<ById<pool::Entity>>,
    pub members: DataLoader<ById<membership::Entity>>,
    pub proposals: DataLoader<ById<proposal::Entity>>,
    /// The expense a proposal decides, by proposal id.
    pub expense_of_proposal: DataLoader<ByParent<expense::Entity>>,
    /// A pool's stakeholder groups, by pool id.
    pub groups_of_pool: DataLoader<ByParent<stakeholder_group::Entity>>,
    /// A pool's apps, by pool id.
    pub apps_of_pool: DataLoader<ByParent<pool_app::Entity>>,
    /// What evaluating a formation needs, by formation id.
    pub formation_facts: DataLoader<FormationFactsLoader>,
}

impl Loaders {
    pub fn new(state: &AppState) -> Self {
        let db = &state.db;
        Self {
            users: DataLoader::new(ById::new(db), tokio::spawn),
            parent_entities: DataLoader::new(ById::new(db), tokio::spawn),
            stakeholder_groups: DataLoader::new(ById::new(db), tokio::spawn),
            pools: DataLoader::new(ById::new(db), tokio::spawn),
            members: DataLoader::new(ById::new(db), tokio::spawn),
            proposals: DataLoader::new(ById::new(db), tokio::spawn),
            expense_of_proposal: DataLoader::new(ByParent::new(db), tokio::spawn),
            groups_of_pool: DataLoader::new(ByParent::new(db), tokio::spawn),
            apps_of_pool: DataLoader::new(ByParent::new(db), tokio::spawn),
            formation_facts: DataLoader::new(FormationFactsLoader(state.clone()), tokio::spawn),
        }
    }
}

macro_rules! keyed {
    ($($entity:ident),*) => {$(
        impl Keyed for $entity::Entity {
            const ID: Self::Column = $entity::Column::Id;
            fn id(model: &Self::Model) -> uuid::Uuid {
                model.id
            }
        }
    )*};
}

keyed!(
    user,
    parent_entity,
    stakeholder_group,
    pool,
    membership,
    proposal
);

impl Owned for stakeholder_group::Entity {
    const OWNER: Self::Column = stakeholder_group::Column::PoolId;
    const ORDER: Self::Column = stakeholder_group::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}

impl Owned for pool_app::Entity {
    const OWNER: Self::Column = pool_app::Column::PoolId;
    const ORDER: Self::Column = pool_app::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}

impl Owned for expense::Entity {
    const OWNER: Self::Column = expense::Column::ProposalId;
    const ORDER: Self::Column = expense::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.proposal_id
    }
}
