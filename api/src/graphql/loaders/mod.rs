//! One DataLoader per relation: each batches the keys of one request into a
//! single `IN (…)` query. New loaders per request: they cache within the
//! request (so a list can prime them) and never between callers.

mod by_id;
mod formation_facts;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use entities::{
    expense, membership, parent_entity, pool, pool_app, proposal, sliding_scale, stakeholder_group,
    user,
};

pub use by_id::{ById, ByParent, Keyed, Owned};
pub use formation_facts::FormationFactsLoader;

use crate::state::AppState;

/// A loader that caches within one request.
pub type Cached<T> = DataLoader<T, HashMapCache>;

/// Loads the rows of every owner in `owners` at once and keeps them, an
/// owner without rows as an empty list: for a page whose items will each
/// ask for theirs. The batch is known already, so it skips the loader's
/// wait for more keys.
pub async fn prime_owned<E>(
    loader: &Cached<ByParent<E>>,
    owners: &[uuid::Uuid],
) -> Result<(), std::sync::Arc<sea_orm::DbErr>>
where
    E: Owned,
    E::Model: Clone + Send + Sync + 'static,
{
    use async_graphql::dataloader::Loader;
    let mut found = loader.loader().load(owners).await?;
    let rows: Vec<_> = owners
        .iter()
        .map(|owner| (*owner, found.remove(owner).unwrap_or_default()))
        .collect();
    loader.feed_many(rows).await;
    Ok(())
}

pub struct Loaders {
    pub users: Cached<ById<user::Entity>>,
    pub parent_entities: Cached<ById<parent_entity::Entity>>,
    pub stakeholder_groups: Cached<ById<stakeholder_group::Entity>>,
    pub pools: Cached<ById<pool::Entity>>,
    pub members: Cached<ById<membership::Entity>>,
    pub proposals: Cached<ById<proposal::Entity>>,
    /// The expense a proposal decides, by proposal id.
    pub expense_of_proposal: Cached<ByParent<expense::Entity>>,
    /// A pool's stakeholder groups, by pool id.
    pub groups_of_pool: Cached<ByParent<stakeholder_group::Entity>>,
    /// A pool's apps, by pool id.
    pub apps_of_pool: Cached<ByParent<pool_app::Entity>>,
    /// A pool's sliding scales (current and past), by pool id.
    pub scales_of_pool: Cached<ByParent<sliding_scale::Entity>>,
    /// What evaluating a formation needs, by formation id.
    pub formation_facts: Cached<FormationFactsLoader>,
}

impl Loaders {
    pub fn new(state: &AppState) -> Self {
        let db = &state.db;
        Self {
            users: DataLoader::with_cache(ById::new(db), tokio::spawn, HashMapCache::default()),
            parent_entities: DataLoader::with_cache(
                ById::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            stakeholder_groups: DataLoader::with_cache(
                ById::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            pools: DataLoader::with_cache(ById::new(db), tokio::spawn, HashMapCache::default()),
            members: DataLoader::with_cache(ById::new(db), tokio::spawn, HashMapCache::default()),
            proposals: DataLoader::with_cache(ById::new(db), tokio::spawn, HashMapCache::default()),
            expense_of_proposal: DataLoader::with_cache(
                ByParent::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            groups_of_pool: DataLoader::with_cache(
                ByParent::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            apps_of_pool: DataLoader::with_cache(
                ByParent::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            scales_of_pool: DataLoader::with_cache(
                ByParent::new(db),
                tokio::spawn,
                HashMapCache::default(),
            ),
            formation_facts: DataLoader::with_cache(
                FormationFactsLoader(state.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
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

impl Owned for sliding_scale::Entity {
    const OWNER: Self::Column = sliding_scale::Column::PoolId;
    const ORDER: Self::Column = sliding_scale::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}
