use std::{collections::HashMap, marker::PhantomData, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

/// An entity whose rows are found by a UUID primary key.
pub trait Keyed: EntityTrait {
    const ID: Self::Column;
    fn id(model: &Self::Model) -> Uuid;
}

/// Loads rows of `E` by id, one query per batch.
pub struct ById<E> {
    db: DatabaseConnection,
    entity: PhantomData<fn() -> E>,
}

impl<E> ById<E> {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: Keyed,
    E::Model: Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = E::find()
            .filter(E::ID.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (E::id(&row), row)).collect())
    }
}
