//! The payloads of the parent's commons: a lease (`Lease`) and one
//! period's rent charged on it (`RentCharge`).

use entities::{billing_period::BillingPeriod, lease, lease::LeaseStatus, rent_charge};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::Serialize;
use uuid::Uuid;

use super::{Money, Ref, Time, time};
use crate::error::AppResult;

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// `Lease`, without its charges (a list with arguments) and without
/// `nextChargeOn`, which is computed from the periods: query it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseData {
    id: Uuid,
    status: LeaseStatus,
    rent: Money,
    period: BillingPeriod,
    /// As the GraphQL `Date` scalar writes it: `YYYY-MM-DD`.
    starts_on: String,
    ends_on: Option<String>,
    terms: String,
    periods_charged: i32,
    offered_at: Time,
    answered_at: Option<Time>,
    ended_at: Option<Time>,
    asset: Ref,
    pool: Ref,
}

impl LeaseData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(l) = lease::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: l.id,
            status: l.status,
            rent: Money {
                amount: l.rent_minor,
                currency: l.currency.clone(),
            },
            period: l.period,
            starts_on: date(l.starts_on),
            ends_on: l.ends_on.map(date),
            terms: l.terms.clone(),
            periods_charged: l.periods_charged,
            offered_at: Time(l.created_at),
            answered_at: time(l.answered_at),
            ended_at: time(l.ended_at),
            asset: Ref::to(l.asset_id),
            pool: Ref::to(l.pool_id),
        }))
    }
}

/// `RentCharge`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RentChargeData {
    id: Uuid,
    period_number: i32,
    period_start: String,
    period_end: String,
    amount: Money,
    charged_at: Time,
    lease: Ref,
}

impl RentChargeData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(c) = rent_charge::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: c.id,
            period_number: c.period_number,
            period_start: date(c.period_start),
            period_end: date(c.period_end),
            amount: Money {
                amount: c.amount_minor,
                currency: c.currency,
            },
            charged_at: Time(c.created_at),
            lease: Ref::to(c.lease_id),
        }))
    }
}
