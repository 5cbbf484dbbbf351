//! Sliding scales: the range a pool (or one of its groups) contributes on.

use chrono::Utc;
use entities::{
    pool,
    sliding_scale::{self, Interval},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{Check, Currency, MinorAmount, format_minor},
    error::{AppResult, FieldError},
    services::audit::{self, Action, Change},
    services::{
        begin_write,
        formations::governance::{OutOfBounds, interval_name},
        membership::{find_pool, group_of_pool, lock_pool, require_admin},
        rules,
    },
    state::AppState,
};

/// Largest amount per interval, in minor units.
const MAX_AMOUNT: i64 = 1_000_000_000;

pub struct ScaleInput {
    pub pool_id: Uuid,
    pub stakeholder_group_id: Option<Uuid>,
    pub currency: String,
    pub interval: Interval,
    pub minimum: i64,
    pub maximum: i64,
    pub suggested: i64,
    pub allow_zero: bool,
}

/// Sets the pool's scale, or a group's own (admins only). The previous one
/// is kept as history.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    input: ScaleInput,
) -> AppResult<sliding_scale::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await?;
    let mut check = Check::default();
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    for (amount, path) in [
        (input.minimum, "input.minimum"),
        (input.maximum, "input.maximum"),
        (input.suggested, "input.suggested"),
    ] {
        check.field(MinorAmount::parse(amount, path));
    }
    if input.minimum < 0 {
        check.field::<()>(Err(FieldError::new(
            "input.minimum",
            "must not be negative (use allowZero for members who cannot pay)",
        )));
    }
    if input.maximum < 1 || input.maximum > MAX_AMOUNT {
        check.field::<()>(Err(FieldError::new(
            "input.maximum",
            format!("must be between 1 and {MAX_AMOUNT} minor units"),
        )));
    }
    if !(input.minimum <= input.suggested && input.suggested <= input.maximum) {
        check.field::<()>(Err(FieldError::new(
            "input.suggested",
            "must lie between minimum and maximum",
        )));
    }
    within_bounds(&pool, &input, &mut check)?;
    let Some(currency) = currency.filter(|_| check.is_empty()) else {
        return Err(check.into_error());
    };
    if let Some(group) = input.stakeholder_group_id {
        group_of_pool(&txn, pool.id, group, "input.stakeholderGroupId").await?;
    }
    lock_pool(&txn, pool.id).await?;
    let now = Utc::now();
    let mut supersede = sliding_scale::Entity::update_many()
        .col_expr(sliding_scale::Column::SupersededAt, Expr::value(now))
        .filter(sliding_scale::Column::PoolId.eq(pool.id))
        .filter(sliding_scale::Column::SupersededAt.is_null());
    supersede = match input.stakeholder_group_id {
        Some(g) => supersede.filter(sliding_scale::Column::StakeholderGroupId.eq(g)),
        None => supersede.filter(sliding_scale::Column::StakeholderGroupId.is_null()),
    };
    supersede.exec(&txn).await?;
    let scale = sliding_scale::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        stakeholder_group_id: Set(input.stakeholder_group_id),
        currency: Set(currency.into_inner()),
        interval: Set(input.interval),
        minimum: Set(input.minimum),
        maximum: Set(input.maximum),
        suggested: Set(input.suggested),
        allow_zero: Set(input.allow_zero),
        set_by: Set(admin.id),
        created_at: Set(now),
        superseded_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::SlidingScaleSet, "SlidingScale", scale.id)
            .in_pool(&pool)
            .created(&scale),
    )
    .await?;
    txn.commit().await?;
    Ok(scale)
}

/// A scale lies within the bounds the pool's rules set, if they set any.
fn within_bounds(pool: &pool::Model, input: &ScaleInput, check: &mut Check) -> AppResult<()> {
    let Some(b) = rules::governance_of(pool)?.contribution_bounds else {
        return Ok(());
    };
    let range = || {
        format!(
            "the pool's rules bound sliding scales between {} and {} {} per {}",
            format_minor(b.minimum, &pool.currency),
            format_minor(b.maximum, &pool.currency),
            pool.currency,
            interval_name(b.interval)
        )
    };
    for end in b.refuses(input.interval, input.minimum, input.maximum) {
        let path = match end {
            OutOfBounds::Interval => "input.interval",
            OutOfBounds::Minimum => "input.minimum",
            OutOfBounds::Maximum => "input.maximum",
        };
        check.field::<()>(Err(FieldError::new(path, range())));
    }
    Ok(())
}

/// The scale that applies to a group: its own, else the pool's.
pub async fn applicable(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    group_id: Uuid,
) -> AppResult<Option<sliding_scale::Model>> {
    let current = sliding_scale::Entity::find()
        .filter(sliding_scale::Column::PoolId.eq(pool_id))
        .filter(sliding_scale::Column::SupersededAt.is_null())
        .all(db)
        .await?;
    let own = current
        .iter()
        .find(|s| s.stakeholder_group_id == Some(group_id))
        .cloned();
    Ok(own.or_else(|| {
        current
            .into_iter()
            .find(|s| s.stakeholder_group_id.is_none())
    }))
}
