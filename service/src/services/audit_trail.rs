//! Reading the audit trail: who may, the filtered, paginated listing, and
//! verifying a chain. Writing it is `services::audit`' work.

use chrono::{DateTime, Duration, Utc};
use entities::{audit_event, membership::MemberRole};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::{Check, SingleLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{
            books::{self, LedgerCheck},
            chain::{self, Checkpoint, Verification},
        },
        membership::{active_membership, find_pool},
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

/// Which events to list. Exactly one of `parent_entity_id` and `pool_id`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub parent_entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The trail's scope once the caller has been allowed to read it.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    Parent(Uuid),
    Pool(Uuid),
}

/// Stewards and auditors read their parent's whole trail; a pool's admins
/// read their own pool's.
pub async fn authorize(
    db: &impl ConnectionTrait,
    actor: &Actor,
    parent_entity_id: Option<Uuid>,
    pool_id: Option<Uuid>,
) -> AppResult<Scope> {
    match (parent_entity_id, pool_id) {
        (Some(parent), None) => {
            permissions::require_steward_or_auditor(db, parent, actor.user_id).await?;
            Ok(Scope::Parent(parent))
        }
        (None, Some(pool_id)) => {
            let pool = find_pool(db, pool_id).await?;
            let admin = active_membership(db, pool.id, actor.user_id)
                .await?
                .is_some_and(|m| m.role == MemberRole::Admin);
            if !admin
                && permissions::parent_role(db, pool.parent_entity_id, actor.user_id)
                    .await?
                    .is_none()
            {
                return Err(AppError::Forbidden(
                    "only this pool's admins and its parent's stewards and auditors may read its audit trail".into(),
                ));
            }
            Ok(Scope::Pool(pool.id))
        }
        _ => Err(AppError::Validation(vec![FieldError::new(
            "input.parentEntityId",
            "give either parentEntityId or poolId",
        )])),
    }
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    mut filter: AuditFilter,
    page: PageRequest,
) -> AppResult<Page<audit_event::Model>> {
    let mut check = Check::default();
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        check.field::<()>(Err(FieldError::new(
            "input.to",
            "must be later than `from`",
        )));
    }
    // Compared with the stored columns (64 and 32 characters): checked
    // text, or the database would be handed NUL and the like.
    filter.action = filter
        .action
        .and_then(|a| check.field(SingleLineText::<1, 64>::parse(&a, "input.action")))
        .map(SingleLineText::into_inner);
    filter.entity_type = filter
        .entity_type
        .and_then(|t| check.field(SingleLineText::<1, 32>::parse(&t, "input.entityType")))
        .map(SingleLineText::into_inner);
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let scope = authorize(&state.db, actor, filter.parent_entity_id, filter.pool_id).await?;
    paginate(
        &state.reads,
        filtered(scope, &filter),
        audit_event::Column::Id,
        page,
    )
    .await
}

/// Ids are UUIDv7, whose first 48 bits are the creation time in
/// milliseconds: a time range becomes an id range the indexes serve. The
/// exact bound is then checked on `occurred_at`; the id bound is widened by
/// a second so clock skew between the two never hides an event.
fn filtered(scope: Scope, filter: &AuditFilter) -> Select<audit_event::Entity> {
    use audit_event::Column as C;
    let mut select = audit_event::Entity::find();
    select = match scope {
        Scope::Parent(id) => select.filter(C::ParentEntityId.eq(id)),
        Scope::Pool(id) => select.filter(C::PoolId.eq(id)),
    };
    if let Some(actor_id) = filter.actor_id {
        select = select.filter(C::ActorUserId.eq(actor_id));
    }
    if let Some(action) = &filter.action {
        select = select.filter(C::Action.eq(action.as_str()));
    }
    if let Some(entity_type) = &filter.entity_type {
        select = select.filter(C::EntityType.eq(entity_type.as_str()));
    }
    if let Some(from) = filter.from {
        select = select
            .filter(C::Id.gte(id_floor(from - Duration::seconds(1))))
            .filter(C::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        select = select
            .filter(C::Id.lt(id_floor(to + Duration::seconds(1))))
            .filter(C::OccurredAt.lt(to));
    }
    select
}

/// The smallest UUIDv7 of the millisecond `at`.
fn id_floor(at: DateTime<Utc>) -> Uuid {
    let millis = at.timestamp_millis().max(0) as u64;
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid()
}

/// A chain's walk and its pools' ledgers checked against it.
#[derive(Clone, Debug)]
pub struct TrailVerification {
    pub chain: Verification,
    pub ledger: LedgerCheck,
}

/// Walks a parent entity's chain, whole or after a checkpoint, and checks
/// its pools' ledgers against it, all of them or those after `ledger_after`
/// (stewards and auditors). The two run side by side.
pub async fn verify(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    since: Option<Checkpoint>,
    ledger_after: Option<Uuid>,
) -> AppResult<TrailVerification> {
    if let Some(checkpoint) = &since {
        check_checkpoint(checkpoint)?;
    }
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let key = chain::chain_key(Some(parent_entity_id));
    let (chain, ledger) = tokio::join!(
        chain::verify(&state.reads, &key, since.as_ref()),
        books::verify(&state.reads, parent_entity_id, ledger_after),
    );
    Ok(TrailVerification {
        chain: chain?,
        ledger: ledger?,
    })
}

fn check_checkpoint(checkpoint: &Checkpoint) -> AppResult<()> {
    let mut errors = Vec::new();
    if checkpoint.seq < 1 {
        errors.push(FieldError::new(
            "since.seq",
            "must be the number of an event, 1 or more (leave `since` out to walk from the start)",
        ));
    }
    let hex = checkpoint.hash.len() == 64
        && checkpoint
            .hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex {
        errors.push(FieldError::new(
            "since.hash",
            "must be a hash as verification returns it: 64 lower-case hex digits",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_floor_orders_with_later_ids() {
        let now = Utc::now();
        let floor = id_floor(now - Duration::milliseconds(1));
        assert!(floor < Uuid::now_v7());
        assert!(id_floor(now + Duration::seconds(5)) > Uuid::now_v7());
    }
}
