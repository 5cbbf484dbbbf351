//! One DataLoader per relation: each batches the keys of one request into a
//! single `IN (…)` query. New loaders per request, so nothing is cached
//! between callers.

mod by_id;

use async_graphql::dataloader::DataLoader;
use entities::{parent_entity, user};

pub use by_id::{ById, Keyed};

use crate::state::AppState;

pub struct Loaders {
    pub users: DataLoader<ById<user::Entity>>,
    pub parent_entities: DataLoader<ById<parent_entity::Entity>>,
}

impl Loaders {
    pub fn new(state: &AppState) -> Self {
        Self {
            users: DataLoader::new(ById::new(&state.db), tokio::spawn),
            parent_entities: DataLoader::new(ById::new(&state.db), tokio::spawn),
        }
    }
}

impl Keyed for user::Entity {
    const ID: Self::Column = user::Column::Id;
    fn id(model: &Self::Model) -> uuid::Uuid {
        model.id
    }
}

impl Keyed for parent_entity::Entity {
    const ID: Self::Column = parent_entity::Column::Id;
    fn id(model: &Self::Model) -> uuid::Uuid {
        model.id
    }
}
