use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entities::formation;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    error::AppError,
    services::formations::{DraftFacts, draft::Draft, facts, seen_by},
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
        facts(db, &refs).await.map_err(as_loader_error)
    }
}

/// Formations by `(viewer, formation id)`: only those the viewer sees (the
/// service decides, for the whole batch at once), so a list of pools shows
/// each one's formation in four statements. The viewer is in the key
/// because loaders are made before the caller is known.
pub struct FormationsSeen(pub AppState);

impl Loader<(Uuid, Uuid)> for FormationsSeen {
    type Value = Draft;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[(Uuid, Uuid)],
    ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut by_viewer: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (viewer, id) in keys {
            by_viewer.entry(*viewer).or_default().push(*id);
        }
        let mut found = HashMap::new();
        for (viewer, ids) in by_viewer {
            let seen = seen_by(&self.0.db, viewer, &ids)
                .await
                .map_err(as_loader_error)?;
            found.extend(seen.into_iter().map(|(id, draft)| ((viewer, id), draft)));
        }
        Ok(found)
    }
}

/// A service error as a loader's error: an unreachable database stays
/// recognisable, so the field answers UNAVAILABLE.
fn as_loader_error(e: AppError) -> Arc<sea_orm::DbErr> {
    let message = match e {
        AppError::Unavailable { .. } => {
            return Arc::new(sea_orm::DbErr::ConnectionAcquire(
                sea_orm::ConnAcquireErr::Timeout,
            ));
        }
        AppError::Internal(cause) => cause.to_string(),
        other => other.message(),
    };
    Arc::new(sea_orm::DbErr::Custom(message))
}
