//! The payloads of the parent's commons: a lease (`Lease`), one period's
//! rent charged on it (`RentCharge`), an application to the fund
//! (`FundApplication`) and a loan's instalment collected
//! (`LoanRepayment`).

use entities::{
    billing_period::BillingPeriod,
    fund_application::{self, FundApplicationStatus, FundingKind},
    lease,
    lease::LeaseStatus,
    loan_repayment,
    parent_entity::AssemblyWeighting,
    rent_charge,
};
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

/// `LoanTerms`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanTermsData {
    period: BillingPeriod,
    instalments: i32,
    starts_on: String,
}

/// `FundApplication`, without its votes and repayments (lists with
/// arguments) and without `tally` and `nextRepaymentOn`, which are
/// computed: query them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundApplicationData {
    id: Uuid,
    kind: FundingKind,
    status: FundApplicationStatus,
    amount: Money,
    purpose: String,
    repayment: Option<LoanTermsData>,
    weighting: AssemblyWeighting,
    closes_at: Time,
    decided_at: Option<Time>,
    instalments_paid: i32,
    applied_at: Time,
    pool: Option<Ref>,
    formation: Option<Ref>,
}

impl FundApplicationData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(a) = fund_application::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let repayment = match (a.repayment_period, a.instalments, a.repayment_starts_on) {
            (Some(period), Some(instalments), Some(starts_on)) => Some(LoanTermsData {
                period,
                instalments,
                starts_on: date(starts_on),
            }),
            _ => None,
        };
        Ok(Some(Self {
            id: a.id,
            kind: a.kind,
            status: a.status,
            amount: Money {
                amount: a.amount_minor,
                currency: a.currency,
            },
            purpose: a.purpose,
            repayment,
            weighting: a.weighting,
            closes_at: Time(a.closes_at),
            decided_at: time(a.decided_at),
            instalments_paid: a.instalments_paid,
            applied_at: Time(a.created_at),
            pool: a.pool_id.map(Ref::to),
            formation: a.formation_id.map(Ref::to),
        }))
    }
}

/// `LoanRepayment`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanRepaymentData {
    id: Uuid,
    instalment_number: i32,
    due_on: String,
    amount: Money,
    collected_at: Time,
    application: Ref,
}

impl LoanRepaymentData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(r) = loan_repayment::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: r.id,
            instalment_number: r.instalment_number,
            due_on: date(r.due_on),
            amount: Money {
                amount: r.amount_minor,
                currency: r.currency,
            },
            collected_at: Time(r.created_at),
            application: Ref::to(r.application_id),
        }))
    }
}
