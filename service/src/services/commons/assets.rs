//! The register of what the parent entity owns for its pools to use. Its
//! stewards keep it; its auditors, and the members of its pools (who share
//! the commons), read it.

use chrono::{SubsecRound, Utc};
use entities::{
    asset::{self, AssetKind, AssetStatus},
    lease::{self, LeaseStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::{KIND_ASSET, require_commons_reader};
use crate::{
    auth::{Actor, access, permissions},
    domain::{Check, Currency, MinorAmount, MultiLineText, SingleLineText},
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        begin_write, lock,
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// Assets one parent entity may register: a bound on what one steward's
/// mistake (or a stolen session) can fill the register with.
pub const MAX_ASSETS: u64 = 10_000;

pub struct RegisterInput {
    pub parent_entity_id: Uuid,
    pub name: String,
    pub kind: AssetKind,
    pub description: String,
    pub value: i64,
    pub currency: String,
}

/// Changes to an asset's description; a field left out stays as it is.
pub struct UpdateInput {
    pub asset_id: Uuid,
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<i64>,
    pub currency: Option<String>,
}

type Name = SingleLineText<1, 200>;
type Description = MultiLineText<0, 2000>;

/// A steward registers an asset the parent owns.
pub async fn register(
    state: &AppState,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<asset::Model> {
    let txn = begin_write(&state.db).await?;
    crate::services::parent_entities::lock_parent(&txn, input.parent_entity_id).await?;
    permissions::require_steward(&txn, input.parent_entity_id, actor.user_id).await?;
    let mut check = Check::default();
    let name = check.field(Name::parse(&input.name, "input.name"));
    let description = check.field(Description::parse(&input.description, "input.description"));
    let value = check.field(MinorAmount::parse_non_negative(input.value, "input.value"));
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    let (Some(name), Some(description), Some(value), Some(currency)) =
        (name, description, value, currency)
    else {
        return Err(check.into_error());
    };
    let held = asset::Entity::find()
        .filter(asset::Column::ParentEntityId.eq(input.parent_entity_id))
        .count(&txn)
        .await?;
    if held >= MAX_ASSETS {
        return Err(AppError::Conflict(format!(
            "a parent entity keeps at most {MAX_ASSETS} assets in its register"
        )));
    }
    let now = Utc::now().trunc_subsecs(6);
    let row = asset::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(input.parent_entity_id),
        name: Set(name.into_inner()),
        kind: Set(input.kind),
        description: Set(description.into_inner()),
        value_minor: Set(value.get()),
        currency: Set(currency.into_inner()),
        status: Set(AssetStatus::Active),
        retired_at: Set(None),
        created_by: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AssetRegistered, "Asset", row.id)
            .in_parent(row.parent_entity_id)
            .created(&row),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The asset, held for this transaction, once the caller is known to be a
/// steward of its parent; those who may not read the commons are told it
/// does not exist.
async fn for_steward(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
) -> AppResult<asset::Model> {
    let row = lock::<asset::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND_ASSET, id))?;
    let checked = permissions::require_steward(txn, row.parent_entity_id, actor.user_id).await;
    access::unless_seen(checked, KIND_ASSET, id, async || {
        Ok(
            require_commons_reader(txn, row.parent_entity_id, actor.user_id)
                .await
                .is_ok(),
        )
    })
    .await?;
    Ok(row)
}

/// A steward corrects an asset's name, description or value.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    input: UpdateInput,
) -> AppResult<asset::Model> {
    let txn = begin_write(&state.db).await?;
    let row = for_steward(&txn, actor, input.asset_id).await?;
    let mut check = Check::default();
    let name = input
        .name
        .as_deref()
        .map(|n| check.field(Name::parse(n, "input.name")));
    let description = input
        .description
        .as_deref()
        .map(|d| check.field(Description::parse(d, "input.description")));
    let value = input
        .value
        .map(|v| check.field(MinorAmount::parse_non_negative(v, "input.value")));
    let currency = input
        .currency
        .as_deref()
        .map(|c| check.field(Currency::parse(c, "input.currency")));
    if !check.is_empty() {
        return Err(check.into_error());
    }
    if row.status == AssetStatus::Retired {
        return Err(AppError::Conflict(
            "this asset is retired and no longer changes".into(),
        ));
    }
    let before = row.clone();
    let mut active: asset::ActiveModel = row.into();
    if let Some(Some(name)) = name {
        active.name = Set(name.into_inner());
    }
    if let Some(Some(description)) = description {
        active.description = Set(description.into_inner());
    }
    if let Some(Some(value)) = value {
        active.value_minor = Set(value.get());
    }
    if let Some(Some(currency)) = currency {
        active.currency = Set(currency.into_inner());
    }
    let after = save(&txn, active, before.version).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AssetUpdated, "Asset", after.id)
            .in_parent(after.parent_entity_id)
            .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// A steward retires an asset no lease runs on or is offered on any more.
pub async fn retire(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<asset::Model> {
    let txn = begin_write(&state.db).await?;
    let row = for_steward(&txn, actor, id).await?;
    if row.status == AssetStatus::Retired {
        return Err(AppError::Conflict("this asset is already retired".into()));
    }
    let open = lease::Entity::find()
        .filter(lease::Column::AssetId.eq(row.id))
        .filter(lease::Column::Status.is_in([LeaseStatus::Offered, LeaseStatus::Active]))
        .count(&txn)
        .await?;
    if open > 0 {
        return Err(AppError::Conflict(format!(
            "{open} lease(s) of this asset are offered or running; end them before retiring it"
        )));
    }
    let before = row.clone();
    let mut active: asset::ActiveModel = row.into();
    active.status = Set(AssetStatus::Retired);
    active.retired_at = Set(Some(Utc::now().trunc_subsecs(6)));
    let after = save(&txn, active, before.version).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::AssetRetired, "Asset", after.id)
            .in_parent(after.parent_entity_id)
            .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// One asset, for the commons' readers; `NOT_FOUND` for everyone else.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<asset::Model> {
    let row = asset::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found(KIND_ASSET, id))?;
    require_commons_reader(&state.db, row.parent_entity_id, actor.user_id)
        .await
        .map_err(|_| access::not_found(KIND_ASSET, id))?;
    Ok(row)
}

/// The parent's assets, oldest first, optionally of one status.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    status: Option<AssetStatus>,
    page: PageArgs,
) -> AppResult<Page<asset::Model>> {
    require_commons_reader(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let mut select =
        asset::Entity::find().filter(asset::Column::ParentEntityId.eq(parent_entity_id));
    if let Some(status) = status {
        select = select.filter(asset::Column::Status.eq(status));
    }
    paginate(&state.db, select, asset::Column::Id, page).await
}

/// Writes the change over the version read under the lock.
async fn save(
    db: &impl ConnectionTrait,
    mut active: asset::ActiveModel,
    seen: i32,
) -> AppResult<asset::Model> {
    let id = active.id.clone().unwrap();
    active.version = Set(seen.saturating_add(1));
    active.updated_at = Set(Utc::now().trunc_subsecs(6));
    let done = asset::Entity::update_many()
        .set(active)
        .filter(asset::Column::Id.eq(id))
        .filter(asset::Column::Version.eq(seen))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this asset changed meanwhile; read it again".into(),
        ));
    }
    asset::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found(KIND_ASSET, id))
}
