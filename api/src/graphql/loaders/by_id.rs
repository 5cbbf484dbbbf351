use std::{collections::HashMap, marker::PhantomData, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::services::one_of;

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
            .filter(one_of(self.db.get_database_backend(), E::ID, keys))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (E::id(&row), row)).collect())
    }
}

/// An entity whose rows belong to one owner row (a pool, say).
pub trait Owned: EntityTrait {
    const OWNER: Self::Column;
    /// The time-ordered id column, for creation order.
    const ORDER: Self::Column;
    fn owner(model: &Self::Model) -> Uuid;
}

/// Loads every row of `E` for each owner id, one query per batch, in
/// creation order.
pub struct ByParent<E> {
    db: DatabaseConnection,
    entity: PhantomData<fn() -> E>,
}

impl<E> ByParent<E> {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> Loader<Uuid> for ByParent<E>
where
    E: Owned,
    E::Model: Clone + Send + Sync + 'static,
{
    type Value = Vec<E::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = E::find()
            .filter(one_of(self.db.get_database_backend(), E::OWNER, keys))
            .order_by_asc(E::ORDER)
            .all(&self.db)
            .await?;
        let mut grouped: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
        for row in rows {
            grouped.entry(E::owner(&row)).or_default().push(row);
        }
        Ok(grouped)
    }
}
