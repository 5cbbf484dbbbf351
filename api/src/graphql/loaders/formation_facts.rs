use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entities::formation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    error::AppError,
    services::formations::{DraftFacts, facts},
    state::AppState,
};

/// What evaluating formations needs (parent, founder, name clashes), for a
/// whole list of formations in five queries.
pub struct FormationFactsLoader(pub AppState);

impl Loader<Uuid> for FormationFactsLoader {
    type Value = DraftFacts;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let db = &self.0.db;
        let formations = formation::Entity::find()
            .filter(formation::Column::Id.is_in(keys.iter().copied()))
            .all(db)
            .await?;
        let refs: Vec<&formation::Model> = formations.iter().collect();
        facts(db, &refs).await.map_err(|e| {
            let message = match e {
                // Kept recognisable, so the field answers UNAVAILABLE.
                AppError::Unavailable { .. } => {
                    return Arc::new(sea_orm::DbErr::ConnectionAcquire(
                        sea_orm::ConnAcquireErr::Timeout,
                    ));
                }
                AppError::Internal(cause) => cause.to_string(),
                other => other.message(),
            };
            Arc::new(sea_orm::DbErr::Custom(message))
        })
    }
}
