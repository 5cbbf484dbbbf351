//! Leases: a steward offers one of the parent's assets to a pool on terms
//! (rent per period in the pool's currency, a start and an end); the pool's
//! admins accept or decline; from acceptance the rent falls due period by
//! period (`rent`). Either side may end a running lease, from a day not in
//! the past; what fell due before stays charged.

use chrono::{Duration, NaiveDate, SubsecRound, Utc};
use entities::{
    asset::{self, AssetStatus},
    billing_period::BillingPeriod,
    lease::{self, LeaseStatus},
    membership::MemberRole,
    pool, rent_charge,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::{KIND_ASSET, KIND_LEASE, periods, rent, require_commons_reader};
use crate::{
    auth::{Actor, access, permissions},
    domain::{Check, MinorAmount, MultiLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        begin_write, lock,
        membership::{find_pool, require_admin, require_reader_as, sees_inside},
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

/// Leases offered or running on one pool at once: a bound on the rows and
/// jobs one parent can make a pool carry.
pub const MAX_OPEN_LEASES_PER_POOL: u64 = 100;

/// How far back a lease may start (an existing arrangement being
/// recorded); its periods since then fall due at once on acceptance.
pub const MAX_DAYS_BACK: i64 = 366;

/// How far ahead a lease may start.
pub const MAX_DAYS_AHEAD: i64 = 732;

/// The longest lease, in years.
pub const MAX_YEARS: i64 = 50;

pub struct OfferInput {
    pub asset_id: Uuid,
    pub pool_id: Uuid,
    pub rent: i64,
    /// Must be the pool's currency when given.
    pub currency: Option<String>,
    pub period: BillingPeriod,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub terms: String,
}

/// A steward offers an asset to one of the parent's pools.
pub async fn offer(state: &AppState, actor: &Actor, input: OfferInput) -> AppResult<lease::Model> {
    let txn = begin_write(&state.db).await?;
    let asset = lock::<asset::Entity>(&txn, input.asset_id)
        .await?
        .ok_or_else(|| access::not_found(KIND_ASSET, input.asset_id))?;
    let checked = permissions::require_steward(&txn, asset.parent_entity_id, actor.user_id).await;
    access::unless_seen(checked, KIND_ASSET, asset.id, async || {
        Ok(
            require_commons_reader(&txn, asset.parent_entity_id, actor.user_id)
                .await
                .is_ok(),
        )
    })
    .await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    if pool.parent_entity_id != asset.parent_entity_id {
        return Err(AppError::Validation(vec![FieldError::new(
            "input.poolId",
            "the pool is not under the parent entity that owns this asset",
        )]));
    }
    let currency = pool.currency.clone();
    let today = Utc::now().date_naive();
    let mut check = Check::default();
    let rent = check.field(MinorAmount::parse_positive(input.rent, "input.rent"));
    if let Some(given) = input.currency.as_deref()
        && given.trim().to_uppercase() != currency
    {
        check.field::<()>(Err(FieldError::new(
            "input.currency",
            format!("rent is charged in the pool's currency, {currency}"),
        )));
    }
    if input.starts_on < today - Duration::days(MAX_DAYS_BACK)
        || input.starts_on > today + Duration::days(MAX_DAYS_AHEAD)
    {
        check.field::<()>(Err(FieldError::new(
            "input.startsOn",
            format!(
                "must be within {MAX_DAYS_BACK} days before and {MAX_DAYS_AHEAD} days after today"
            ),
        )));
    }
    if let Some(ends_on) = input.ends_on
        && (ends_on <= input.starts_on
            || ends_on > input.starts_on + Duration::days(366 * MAX_YEARS))
    {
        check.field::<()>(Err(FieldError::new(
            "input.endsOn",
            format!("must be after startsOn and at most {MAX_YEARS} years after it"),
        )));
    }
    let terms = check.field(MultiLineText::<0, 2000>::parse(&input.terms, "input.terms"));
    let (Some(rent), Some(terms)) = (rent, terms) else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    crate::services::membership::require_active_pool(&pool)?;
    if asset.status == AssetStatus::Retired {
        return Err(AppError::Conflict(
            "this asset is retired and is no longer leased out".into(),
        ));
    }
    let open = lease::Entity::find()
        .filter(lease::Column::PoolId.eq(pool.id))
        .filter(lease::Column::Status.is_in([LeaseStatus::Offered, LeaseStatus::Active]))
        .count(&txn)
        .await?;
    if open >= MAX_OPEN_LEASES_PER_POOL {
        return Err(AppError::Conflict(format!(
            "a pool holds at most {MAX_OPEN_LEASES_PER_POOL} leases offered or running at once"
        )));
    }
    let now = Utc::now().trunc_subsecs(6);
    let row = lease::ActiveModel {
        id: Set(Uuid::now_v7()),
        asset_id: Set(asset.id),
        parent_entity_id: Set(asset.parent_entity_id),
        pool_id: Set(pool.id),
        rent_minor: Set(rent.get()),
        currency: Set(currency),
        period: Set(input.period),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        terms: Set(terms.into_inner()),
        status: Set(LeaseStatus::Offered),
        periods_charged: Set(0),
        offered_by: Set(actor.user_id),
        answered_by: Set(None),
        answered_at: Set(None),
        ended_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::LeaseOffered, "Lease", row.id)
            .in_pool(&pool)
            .created(&row),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The lease, held for this transaction, and its pool; `NOT_FOUND` for
/// those who see neither inside the pool nor the commons.
async fn locked(txn: &DatabaseTransaction, id: Uuid) -> AppResult<(lease::Model, pool::Model)> {
    let row = lock::<lease::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND_LEASE, id))?;
    let pool = find_pool(txn, row.pool_id).await?;
    Ok((row, pool))
}

/// Refuses as `auth::access` says: those who may read neither the pool nor
/// the parent's commons are told the lease does not exist.
async fn unless_seen<T>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    pool: &pool::Model,
    id: Uuid,
    checked: AppResult<T>,
) -> AppResult<T> {
    access::unless_seen(checked, KIND_LEASE, id, async || {
        Ok(sees_inside(db, pool, actor.user_id).await?
            || require_commons_reader(db, pool.parent_entity_id, actor.user_id)
                .await
                .is_ok())
    })
    .await
}

/// The pool's admins accept an offered lease; its rent starts falling due.
pub async fn accept(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<lease::Model> {
    answer(state, actor, id, true).await
}

/// The pool's admins decline an offered lease.
pub async fn decline(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<lease::Model> {
    answer(state, actor, id, false).await
}

async fn answer(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    accepted: bool,
) -> AppResult<lease::Model> {
    let txn = begin_write(&state.db).await?;
    let (row, pool) = locked(&txn, id).await?;
    let checked = require_admin(&txn, &pool, actor.user_id).await;
    unless_seen(&txn, actor, &pool, id, checked).await?;
    if row.status != LeaseStatus::Offered {
        return Err(AppError::Conflict(format!(
            "this lease is {} and waits for no answer",
            status_word(row.status)
        )));
    }
    let before = row.clone();
    let now = Utc::now().trunc_subsecs(6);
    let mut active: lease::ActiveModel = row.into();
    active.status = Set(if accepted {
        LeaseStatus::Active
    } else {
        LeaseStatus::Declined
    });
    active.answered_by = Set(Some(actor.user_id));
    active.answered_at = Set(Some(now));
    let after = save(&txn, active, before.version).await?;
    let action = if accepted {
        Action::LeaseAccepted
    } else {
        Action::LeaseDeclined
    };
    audit::record(
        &txn,
        actor,
        Change::new(action, "Lease", after.id)
            .in_pool(&pool)
            .diff(&before, &after),
    )
    .await?;
    if accepted {
        rent::schedule(&txn, after.id, now).await?;
    }
    txn.commit().await?;
    Ok(after)
}

/// A steward or the pool's admins end a lease: an offer is withdrawn at
/// once; a running lease stops on `ends_on` (today if not given, never in
/// the past, never later than its agreed end). Rent for periods that began
/// before then is still charged, the last one in proportion to its days.
pub async fn end(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    ends_on: Option<NaiveDate>,
) -> AppResult<lease::Model> {
    let txn = begin_write(&state.db).await?;
    let (row, pool) = locked(&txn, id).await?;
    let checked = async {
        let steward = permissions::require_steward(&txn, row.parent_entity_id, actor.user_id).await;
        if steward.is_ok() {
            return Ok(());
        }
        match crate::services::membership::active_membership(&txn, pool.id, actor.user_id).await? {
            Some(m) if m.role == MemberRole::Admin => Ok(()),
            _ => Err(AppError::Forbidden(
                "only the parent entity's stewards and the pool's admins may end a lease".into(),
            )),
        }
    }
    .await;
    unless_seen(&txn, actor, &pool, id, checked).await?;
    let today = Utc::now().date_naive();
    let ends_on = match row.status {
        LeaseStatus::Offered => None,
        LeaseStatus::Active => {
            let ends_on = ends_on.unwrap_or(today);
            if ends_on < today {
                return Err(AppError::Validation(vec![FieldError::new(
                    "input.endsOn",
                    "must not be in the past",
                )]));
            }
            if row.ends_on.is_some_and(|agreed| ends_on > agreed) {
                return Err(AppError::Validation(vec![FieldError::new(
                    "input.endsOn",
                    "must not be later than the lease's agreed end",
                )]));
            }
            // A lease that has not begun ends before it runs.
            Some(ends_on.max(row.starts_on))
        }
        status => {
            return Err(AppError::Conflict(format!(
                "this lease is {} already",
                status_word(status)
            )));
        }
    };
    let before = row.clone();
    let now = Utc::now().trunc_subsecs(6);
    let mut active: lease::ActiveModel = row.into();
    active.status = Set(LeaseStatus::Ended);
    active.ended_at = Set(Some(now));
    if let Some(ends_on) = ends_on {
        active.ends_on = Set(Some(ends_on));
    }
    let after = save(&txn, active, before.version).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::LeaseEnded, "Lease", after.id)
            .in_pool(&pool)
            .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

fn status_word(status: LeaseStatus) -> &'static str {
    match status {
        LeaseStatus::Offered => "OFFERED",
        LeaseStatus::Active => "ACTIVE",
        LeaseStatus::Declined => "DECLINED",
        LeaseStatus::Ended => "ENDED",
    }
}

/// A pool's leases, oldest first: its readers (members, and the parent's
/// stewards and auditors).
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    status: Option<LeaseStatus>,
    page: PageArgs,
) -> AppResult<Page<lease::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let mut select = lease::Entity::find().filter(lease::Column::PoolId.eq(pool.id));
    if let Some(status) = status {
        select = select.filter(lease::Column::Status.eq(status));
    }
    paginate(&state.db, select, lease::Column::Id, page).await
}

/// An asset's leases, oldest first: who has used it and who uses it now.
pub async fn of_asset(
    state: &AppState,
    actor: &Actor,
    asset: &asset::Model,
    status: Option<LeaseStatus>,
    page: PageArgs,
) -> AppResult<Page<lease::Model>> {
    require_commons_reader(&state.db, asset.parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let mut select = lease::Entity::find().filter(lease::Column::AssetId.eq(asset.id));
    if let Some(status) = status {
        select = select.filter(lease::Column::Status.eq(status));
    }
    paginate(&state.db, select, lease::Column::Id, page).await
}

/// One lease, for its pool's readers and the commons' readers; `NOT_FOUND`
/// for everyone else.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<lease::Model> {
    let row = lease::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found(KIND_LEASE, id))?;
    require_lease_reader(state, actor, &row)
        .await
        .map_err(|_| access::not_found(KIND_LEASE, id))?;
    Ok(row)
}

/// Whether the caller may read this lease (and its asset and charges): the
/// pool's readers and the commons' readers.
pub async fn require_lease_reader(
    state: &AppState,
    actor: &Actor,
    row: &lease::Model,
) -> AppResult<()> {
    let pool = find_pool(&state.db, row.pool_id).await?;
    if require_reader_as(&state.db, &pool, actor).await.is_ok() {
        return Ok(());
    }
    require_commons_reader(&state.db, row.parent_entity_id, actor.user_id).await
}

/// A lease's rent charges, oldest first.
pub async fn charges(
    state: &AppState,
    actor: &Actor,
    row: &lease::Model,
    page: PageArgs,
) -> AppResult<Page<rent_charge::Model>> {
    require_lease_reader(state, actor, row).await?;
    let page = page.parse()?;
    let select = rent_charge::Entity::find().filter(rent_charge::Column::LeaseId.eq(row.id));
    paginate(&state.db, select, rent_charge::Column::Id, page).await
}

/// When the next period falls due, if one still will.
pub fn next_charge_on(row: &lease::Model) -> Option<NaiveDate> {
    if !matches!(row.status, LeaseStatus::Active | LeaseStatus::Ended) || row.answered_at.is_none()
    {
        return None;
    }
    let n = u32::try_from(row.periods_charged).ok()?;
    let next = periods::start_of(row.starts_on, row.period, n)?;
    match row.ends_on {
        Some(end) if next >= end => None,
        _ => Some(next),
    }
}

/// Writes the change over the version read under the lock.
pub(super) async fn save(
    db: &impl ConnectionTrait,
    mut active: lease::ActiveModel,
    seen: i32,
) -> AppResult<lease::Model> {
    let id = active.id.clone().unwrap();
    active.version = Set(seen.saturating_add(1));
    active.updated_at = Set(Utc::now().trunc_subsecs(6));
    let done = lease::Entity::update_many()
        .set(active)
        .filter(lease::Column::Id.eq(id))
        .filter(lease::Column::Version.eq(seen))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this lease changed meanwhile; read it again".into(),
        ));
    }
    lease::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found(KIND_LEASE, id))
}
