use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entities::delegation;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::services::one_of;

/// The live delegations of many members or proposals, one statement per
/// batch, by whichever end `column` names (a delegation has three: who
/// gave it, who holds it, and its proposal).
pub struct DelegationsOf {
    db: DatabaseConnection,
    column: delegation::Column,
    owner: fn(&delegation::Model) -> Option<Uuid>,
}

impl DelegationsOf {
    pub fn given(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            column: delegation::Column::DelegatorMembershipId,
            owner: |d| Some(d.delegator_membership_id),
        }
    }
    pub fn received(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            column: delegation::Column::DelegateMembershipId,
            owner: |d| Some(d.delegate_membership_id),
        }
    }
    pub fn for_proposal(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            column: delegation::Column::ProposalId,
            owner: |d| d.proposal_id,
        }
    }
}

impl Loader<Uuid> for DelegationsOf {
    type Value = Vec<delegation::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = delegation::Entity::find()
            .filter(one_of(self.db.get_database_backend(), self.column, keys))
            .filter(delegation::Column::RevokedAt.is_null())
            .order_by_asc(delegation::Column::Id)
            .all(&self.db)
            .await?;
        let mut grouped: HashMap<Uuid, Vec<delegation::Model>> = HashMap::new();
        for row in rows {
            if let Some(owner) = (self.owner)(&row) {
                grouped.entry(owner).or_default().push(row);
            }
        }
        Ok(grouped)
    }
}
