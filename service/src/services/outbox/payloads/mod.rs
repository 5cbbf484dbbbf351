//! What a webhook event says: its envelope and, as `data`, the object it
//! is about, in the shape of that object's GraphQL type. Field names are
//! the GraphQL ones (camelCase), ids are strings, money is `{amount,
//! currency}`, enums are their GraphQL values and times are written as the
//! `DateTime` scalar writes them. An object it links to is `{"id": …}`, as
//! a query selecting only its `id` reads it. Left out are the fields that
//! take arguments, depend on who asks, or are computed or read on demand
//! (each struct says which).
//!
//! Each struct names what it shows, so no internal column can slip in.
//! `docs/webhooks/<type>.schema.json` publishes each event's JSON Schema;
//! the integration tests validate every payload sent against it.

mod commons;
mod decisions;
mod pools;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::{error::AppResult, services::outbox::webhook_events::EventType};

pub use commons::{FundApplicationData, LeaseData, LoanRepaymentData, RentChargeData};
pub use decisions::{ContributionData, ExpenseData, ProposalData, WorkContributionData};
pub use pools::{FormationData, MemberData, PoolAppData, PoolData};

/// The version of the payloads' shape, in every envelope. A change that
/// could break a receiver (a field removed, renamed or retyped) comes with
/// a new version; added fields do not.
pub const API_VERSION: &str = "2026-12-01";

/// One event, as its endpoints receive it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub api_version: &'static str,
    /// As the audit trail writes times (fixed width, so that receivers may
    /// sort events by it as text), not as `data`'s GraphQL times.
    pub created_at: String,
    pub parent_entity_id: Option<Uuid>,
    pub pool_id: Option<Uuid>,
    /// `null` only if the object was gone when the event was written.
    pub data: Option<Data>,
}

/// The object of an event.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Data {
    Formation(Box<FormationData>),
    Pool(Box<PoolData>),
    Member(Box<MemberData>),
    Proposal(Box<ProposalData>),
    Contribution(Box<ContributionData>),
    Expense(Box<ExpenseData>),
    PoolApp(Box<PoolAppData>),
    WorkContribution(Box<WorkContributionData>),
    Lease(Box<LeaseData>),
    RentCharge(Box<RentChargeData>),
    FundApplication(Box<FundApplicationData>),
    LoanRepayment(Box<LoanRepaymentData>),
}

/// The object an event of `kind` is about, read by the id its change
/// names. Exhaustive: a new event type has to say what its `data` is.
pub async fn data_of(
    db: &impl ConnectionTrait,
    kind: EventType,
    id: Uuid,
) -> AppResult<Option<Data>> {
    use EventType as E;
    Ok(match kind {
        E::FormationSubmitted => FormationData::read(db, id)
            .await?
            .map(|d| Data::Formation(Box::new(d))),
        E::PoolCreated
        | E::PoolSuspended
        | E::PoolReinstated
        | E::PoolMoved
        | E::PoolSpinOutStarted
        | E::PoolSpunOut
        | E::PoolDissolving
        | E::PoolDissolved => PoolData::read(db, id)
            .await?
            .map(|d| Data::Pool(Box::new(d))),
        E::MemberJoined | E::MemberLeft => MemberData::read(db, id)
            .await?
            .map(|d| Data::Member(Box::new(d))),
        E::ProposalClosed => ProposalData::read(db, id)
            .await?
            .map(|d| Data::Proposal(Box::new(d))),
        E::ContributionChanged => ContributionData::read(db, id)
            .await?
            .map(|d| Data::Contribution(Box::new(d))),
        E::ExpensePaid => ExpenseData::read(db, id)
            .await?
            .map(|d| Data::Expense(Box::new(d))),
        E::AppReady => PoolAppData::read(db, id)
            .await?
            .map(|d| Data::PoolApp(Box::new(d))),
        E::WorkContributionRecorded | E::WorkContributionConfirmed | E::WorkContributionRefused => {
            WorkContributionData::read(db, id)
                .await?
                .map(|d| Data::WorkContribution(Box::new(d)))
        }
        E::LeaseOffered | E::LeaseAccepted | E::LeaseEnded => LeaseData::read(db, id)
            .await?
            .map(|d| Data::Lease(Box::new(d))),
        E::RentCharged => RentChargeData::read(db, id)
            .await?
            .map(|d| Data::RentCharge(Box::new(d))),
        E::FundApplicationSubmitted | E::FundApplicationDecided => {
            FundApplicationData::read(db, id)
                .await?
                .map(|d| Data::FundApplication(Box::new(d)))
        }
        E::LoanRepaymentCollected => LoanRepaymentData::read(db, id)
            .await?
            .map(|d| Data::LoanRepayment(Box::new(d))),
    })
}

/// A linked object, by its id alone.
#[derive(Clone, Debug, Serialize)]
pub struct Ref<T = Uuid> {
    pub id: T,
}

impl<T> Ref<T> {
    pub fn to(id: T) -> Self {
        Self { id }
    }
}

/// GraphQL's `Money` for one stored amount (never a saturated total).
#[derive(Clone, Debug, Serialize)]
pub struct Money {
    /// Minor units, such as cents.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
}

/// A time as the GraphQL `DateTime` scalar writes it: RFC 3339, as
/// chrono's `to_rfc3339` (async-graphql's own choice).
#[derive(Clone, Copy, Debug)]
pub struct Time(pub DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339())
    }
}

/// An optional stored time, as the scalar writes it.
pub fn time(t: Option<DateTime<Utc>>) -> Option<Time> {
    t.map(Time)
}

/// A stored JSON column read into its typed shape. It was written by this
/// server from the same shape, so failing to read it is a bug, answered
/// as the GraphQL field reading it answers: an internal error.
fn stored<T: serde::de::DeserializeOwned>(what: &str, value: serde_json::Value) -> AppResult<T> {
    serde_json::from_value(value).map_err(|e| {
        crate::error::AppError::internal(anyhow::anyhow!("stored {what} unreadable: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_are_written_as_the_graphql_scalar_writes_them() {
        let t = Utc
            .timestamp_opt(1_764_700_000, 123_456_000)
            .single()
            .expect("a time");
        let graphql = async_graphql::ScalarType::to_value(&t);
        let written = serde_json::to_value(Time(t)).expect("serialises");
        assert_eq!(
            written,
            graphql.into_json().expect("a JSON value"),
            "the payload and the API write one time alike"
        );
    }
}
