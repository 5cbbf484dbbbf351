//! The Stripe gateway: typed request builders from async-stripe (the 1.0
//! split crates), answers read into the few fields we use. Reading lean
//! answers keeps us working against Stripe API versions (and a local fake)
//! whose objects lack fields the generated structs require.

use std::{fmt, str::FromStr, time::Duration};

use miniserde::json::Value;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_billing::{
    PlanInterval,
    invoice::ListInvoice,
    plan::{CreatePlan, CreatePlanProduct},
    subscription::{
        CancelSubscription, CreateSubscription, CreateSubscriptionItems, ListSubscription,
        ListSubscriptionStatus, RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems,
    },
};
use stripe_core::customer::{
    CreateCustomer, RetrieveCustomer, UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_payment::payment_method::AttachPaymentMethod;
use stripe_product::product::CreateProduct;
use stripe_types::Currency;
use tracing::Instrument;

use crate::metrics::{Metrics, StripeOutcome};

#[derive(Debug)]
pub enum PaymentError {
    /// The card was declined, or Stripe refused the payment.
    Declined(String),
    /// Stripe refused what was sent (4xx); `param` names Stripe's parameter.
    Invalid {
        param: Option<String>,
        message: String,
    },
    /// An object named in the request does not exist at Stripe (404).
    Missing {
        param: Option<String>,
        message: String,
    },
    /// An idempotency key came back with other parameters than its first use.
    KeyReused(String),
    /// Stripe could not be reached: nothing was sent, so nothing was done.
    Unreachable(String),
    /// Sent, but no usable answer came (a timeout, a dropped connection, a
    /// 5xx, or a request with the same key still in flight): Stripe may or
    /// may not have done it. Retrying with the same idempotency key is safe.
    Unknown(String),
    /// Our side failed around the call.
    Internal(String),
}

impl PaymentError {
    /// Whether the request may have taken effect at Stripe.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Unknown(_))
    }

    /// How the call is counted in `pools_stripe_calls_total`.
    fn outcome(&self) -> StripeOutcome {
        match self {
            Self::Declined(_)
            | Self::Invalid { .. }
            | Self::Missing { .. }
            | Self::KeyReused(_) => StripeOutcome::Refused,
            Self::Unreachable(_) => StripeOutcome::Unreachable,
            Self::Unknown(_) | Self::Internal(_) => StripeOutcome::Error,
        }
    }
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Declined(m) => write!(f, "the payment was declined: {m}"),
            Self::Invalid { message, .. } => write!(f, "Stripe refused the request: {message}"),
            Self::Missing { message, .. } => write!(f, "Stripe does not know it: {message}"),
            Self::KeyReused(m) => write!(f, "idempotency key reused: {m}"),
            Self::Unreachable(m) => write!(f, "the payment provider is unreachable: {m}"),
            Self::Unknown(m) => write!(f, "the payment provider did not answer: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl From<StripeError> for PaymentError {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::Stripe(api, status) => {
                let message = api.message.clone().unwrap_or_default();
                let param = api.param.clone();
                match (status, api.type_.as_str()) {
                    // 402 and card errors are the member's bank saying no.
                    (402, _) | (_, "card_error") => Self::Declined(if message.is_empty() {
                        "your card was declined".into()
                    } else {
                        message
                    }),
                    // Another request with this key is still in flight.
                    (409, "idempotency_error") => Self::Unknown(message),
                    (_, "idempotency_error") => Self::KeyReused(message),
                    (404, _) => Self::Missing { param, message },
                    // Too many requests: nothing was done, try again later.
                    (429, _) => Self::Unreachable(message),
                    (400..=499, _) => Self::Invalid { param, message },
                    _ => Self::Unknown(format!("Stripe failed ({status}): {message}")),
                }
            }
            // The connection was never made, so the request never left.
            StripeError::ClientError(m) if m.contains("(Connect)") => Self::Unreachable(m),
            StripeError::ConfigError(m) => Self::Internal(m),
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// What we keep of a subscription.
pub struct StripeSubscription {
    pub id: String,
    pub item_id: Option<String>,
    /// Stripe's status: `active`, `incomplete`, `past_due`, `canceled`, …
    pub status: String,
    /// The first invoice's payment, when the member still has to confirm it
    /// (Stripe.js); never for a payment that went through.
    pub client_secret: Option<String>,
    pub plan_id: Option<String>,
    /// The contribution id we put in its metadata.
    pub contribution: Option<String>,
    pub cancel_at_period_end: bool,
}

/// A subscription as reconciliation reads it from a list.
pub struct ListedSubscription {
    pub id: String,
    pub customer: String,
    /// Stripe's status: `active`, `incomplete`, `past_due`, `canceled`, …
    pub status: String,
    /// The contribution id we put in its metadata, if any.
    pub contribution_id: Option<String>,
    pub item_id: Option<String>,
    pub plan_id: Option<String>,
}

/// One page of subscriptions; `next` is the cursor for the following page.
pub struct SubscriptionPage {
    pub subscriptions: Vec<ListedSubscription>,
    pub next: Option<String>,
}

/// An invoice as reconciliation reads it.
pub struct ListedInvoice {
    pub id: String,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: String,
    /// Minor units.
    pub amount_paid: i64,
    /// Lower case, as Stripe writes it.
    pub currency: String,
    /// Unix seconds.
    pub created: i64,
}

pub struct InvoicePage {
    pub invoices: Vec<ListedInvoice>,
    pub next: Option<String>,
}

pub struct StripeGateway {
    client: Client,
    metrics: Metrics,
    /// The API's host, for the spans of calls.
    host: String,
}

impl StripeGateway {
    /// A client for `api_base` (Stripe's API, or a local fake), counting
    /// its calls in `metrics`.
    pub fn new(
        secret_key: &str,
        api_base: &str,
        timeout: Duration,
        metrics: Metrics,
    ) -> Result<Self, PaymentError> {
        let base = if api_base.ends_with('/') {
            api_base.to_owned()
        } else {
            format!("{api_base}/")
        };
        let host = reqwest::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let client = ClientBuilder::new(secret_key)
            .url(base)
            .timeout(timeout)
            .build()
            .map_err(|e| PaymentError::Internal(e.to_string()))?;
        Ok(Self {
            client,
            metrics,
            host,
        })
    }

    pub async fn create_customer(
        &self,
        key: &str,
        email: &str,
        name: &str,
    ) -> Result<String, PaymentError> {
        let answer = self
            .send(&CreateCustomer::new().email(email).name(name), Some(key))
            .await?;
        id_of(&answer)
    }

    pub async fn create_product(&self, key: &str, name: &str) -> Result<String, PaymentError> {
        let answer = self.send(&CreateProduct::new(name), Some(key)).await?;
        id_of(&answer)
    }

    /// A recurring plan (Stripe accepts plans wherever it takes prices).
    pub async fn create_plan(
        &self,
        key: &str,
        product: &str,
        amount: i64,
        currency: &str,
        interval: &str,
    ) -> Result<String, PaymentError> {
        let currency = Currency::from_str(&currency.to_lowercase()).map_err(|_| {
            PaymentError::Internal(format!("Stripe does not know the currency {currency}"))
        })?;
        let interval = if interval == "year" {
            PlanInterval::Year
        } else {
            PlanInterval::Month
        };
        let request = CreatePlan::new(currency, interval)
            .id(key)
            .amount(amount)
            .product(CreatePlanProduct::Id(product.to_owned()));
        let answer = self.send(&request, Some(key)).await?;
        id_of(&answer)
    }

    /// Attaches the card to the customer and makes it the default for invoices.
    pub async fn attach_payment_method(
        &self,
        payment_method: &str,
        customer: &str,
    ) -> Result<(), PaymentError> {
        self.send(
            &AttachPaymentMethod::new(payment_method).customer(customer),
            None,
        )
        .await?;
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(payment_method.to_owned());
        self.send(
            &UpdateCustomer::new(customer).invoice_settings(settings),
            None,
        )
        .await?;
        Ok(())
    }

    /// Subscribes the customer to the plan. A first payment the card
    /// declined is reported as `Declined` and the subscription is canceled,
    /// so nothing half-made stays behind at Stripe either.
    pub async fn create_subscription(
        &self,
        key: &str,
        customer: &str,
        plan: &str,
        contribution: &str,
    ) -> Result<StripeSubscription, PaymentError> {
        let mut item = CreateSubscriptionItems::new();
        item.plan = Some(plan.to_owned());
        let request = CreateSubscription::new()
            .customer(customer)
            .items(vec![item])
            .metadata(
                [("contribution_id".to_owned(), contribution.to_owned())]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            )
            .expand(vec!["latest_invoice.payment_intent".to_owned()]);
        let answer = self.send(&request, Some(key)).await?;
        let sub = subscription_of(&answer)?;
        let intent = field(&answer, &["latest_invoice", "payment_intent"]);
        if let Some(code) = intent.and_then(|i| text(i, &["last_payment_error", "code"])) {
            let message = intent
                .and_then(|i| text(i, &["last_payment_error", "message"]))
                .unwrap_or_else(|| code.clone());
            // Best effort: the declined subscription must not linger.
            let _ = self
                .send(&CancelSubscription::new(sub.id.as_str()), None)
                .await;
            return Err(PaymentError::Declined(message));
        }
        Ok(sub)
    }

    /// Moves the subscription to another plan; Stripe prorates the period.
    pub async fn change_plan(
        &self,
        key: &str,
        subscription: &str,
        item: &str,
        plan: &str,
    ) -> Result<StripeSubscription, PaymentError> {
        let mut change = UpdateSubscriptionItems::new();
        change.id = Some(item.to_owned());
        change.plan = Some(plan.to_owned());
        let answer = self
            .send(
                &UpdateSubscription::new(subscription).items(vec![change]),
                Some(key),
            )
            .await?;
        subscription_of(&answer)
    }

    /// Cancels now, or at the end of the paid period.
    pub async fn cancel(
        &self,
        subscription: &str,
        at_period_end: bool,
    ) -> Result<StripeSubscription, PaymentError> {
        let answer = if at_period_end {
            self.send(
                &UpdateSubscription::new(subscription).cancel_at_period_end(true),
                None,
            )
            .await?
        } else {
            self.send(&CancelSubscription::new(subscription), None)
                .await?
        };
        subscription_of(&answer)
    }

    /// Ends the subscription at the end of its paid period, or no longer.
    pub async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        at_period_end: bool,
    ) -> Result<StripeSubscription, PaymentError> {
        let answer = self
            .send(
                &UpdateSubscription::new(subscription).cancel_at_period_end(at_period_end),
                None,
            )
            .await?;
        subscription_of(&answer)
    }

    /// Whether Stripe still has the customer (a 404 on attaching a card does
    /// not say whether the card or the customer is missing).
    pub async fn has_customer(&self, id: &str) -> Result<bool, PaymentError> {
        match self.send(&RetrieveCustomer::new(id), None).await {
            Ok(answer) => Ok(!matches!(
                field(&answer, &["deleted"]),
                Some(Value::Bool(true))
            )),
            Err(PaymentError::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stripe's current record of a subscription.
    pub async fn subscription(&self, id: &str) -> Result<StripeSubscription, PaymentError> {
        let answer = self
            .send(
                &RetrieveSubscription::new(id)
                    .expand(vec!["latest_invoice.payment_intent".to_owned()]),
                None,
            )
            .await?;
        subscription_of(&answer)
    }

    /// The subscription Stripe holds for a contribution of ours, found by
    /// the metadata we set on it (for a creation whose answer never came).
    pub async fn subscription_for(
        &self,
        customer: &str,
        contribution: &str,
    ) -> Result<Option<StripeSubscription>, PaymentError> {
        let mut after: Option<String> = None;
        loop {
            let mut request = ListSubscription::new()
                .customer(customer)
                .status(ListSubscriptionStatus::All)
                .limit(100);
            if let Some(after) = &after {
                request = request.starting_after(after.as_str());
            }
            let answer = self.send(&request, None).await?;
            let Some(Value::Array(page)) = field(&answer, &["data"]) else {
                return Ok(None);
            };
            for item in page {
                let sub = subscription_of(item)?;
                if sub.contribution.as_deref() == Some(contribution) {
                    return Ok(Some(sub));
                }
            }
            let more = matches!(field(&answer, &["has_more"]), Some(Value::Bool(true)));
            match page.last().and_then(|s| text(s, &["id"])) {
                Some(last) if more => after = Some(last),
                _ => return Ok(None),
            }
        }
    }

    /// Every subscription of the account, whatever its status, a page of
    /// 100 at a time (Stripe's cursor: the last id of the previous page).
    pub async fn list_subscriptions(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError> {
        let mut request = ListSubscription::new()
            .status(ListSubscriptionStatus::All)
            .limit(LIST_LIMIT);
        if let Some(cursor) = starting_after {
            request = request.starting_after(cursor);
        }
        let answer = self.send(&request, None).await?;
        let (items, next) = page_of(&answer)?;
        let subscriptions = items
            .iter()
            .map(|s| {
                let item = match field(s, &["items", "data"]) {
                    Some(Value::Array(items)) => items.first(),
                    _ => None,
                };
                Ok(ListedSubscription {
                    id: id_of(s)?,
                    customer: text(s, &["customer"])
                        .or_else(|| text(s, &["customer", "id"]))
                        .unwrap_or_default(),
                    status: text(s, &["status"]).unwrap_or_default(),
                    contribution_id: text(s, &["metadata", "contribution_id"]),
                    item_id: item.and_then(|i| text(i, &["id"])),
                    plan_id: item
                        .and_then(|i| text(i, &["plan", "id"]))
                        .or_else(|| text(s, &["plan", "id"])),
                })
            })
            .collect::<Result<_, PaymentError>>()?;
        Ok(SubscriptionPage {
            subscriptions,
            next,
        })
    }

    /// A subscription's invoices, a page of 100 at a time.
    pub async fn list_invoices(
        &self,
        subscription: &str,
        starting_after: Option<&str>,
    ) -> Result<InvoicePage, PaymentError> {
        let mut request = ListInvoice::new()
            .subscription(subscription)
            .limit(LIST_LIMIT);
        if let Some(cursor) = starting_after {
            request = request.starting_after(cursor);
        }
        let answer = self.send(&request, None).await?;
        let (items, next) = page_of(&answer)?;
        let invoices = items
            .iter()
            .map(|i| {
                Ok(ListedInvoice {
                    id: id_of(i)?,
                    status: text(i, &["status"]).unwrap_or_default(),
                    amount_paid: integer(i, &["amount_paid"]).unwrap_or_default(),
                    currency: text(i, &["currency"]).unwrap_or_default(),
                    created: integer(i, &["created"]).unwrap_or_default(),
                })
            })
            .collect::<Result<_, PaymentError>>()?;
        Ok(InvoicePage { invoices, next })
    }

    async fn send(
        &self,
        request: &impl StripeRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Value, PaymentError> {
        let built = request.build();
        let span = if crate::trace_context::enabled() {
            self.call_span(&format!("{:?}", built.method), &built.path)
        } else {
            tracing::Span::none()
        };
        let mut call = built.customize::<Value>();
        if let Some(key) = idempotency_key {
            let key = IdempotencyKey::new(key)
                .map_err(|e| PaymentError::Internal(format!("idempotency key: {e:?}")))?;
            call = call.request_strategy(RequestStrategy::Idempotent(key));
        }
        let answer = call
            .send(&self.client)
            .instrument(span.clone())
            .await
            .map_err(PaymentError::from);
        let outcome = match &answer {
            Ok(_) => StripeOutcome::Ok,
            Err(e) => e.outcome(),
        };
        self.metrics.stripe_call(outcome);
        if outcome != StripeOutcome::Ok {
            span.record("stripe.outcome", outcome.as_str());
            span.record("otel.status_code", "ERROR");
        }
        answer
    }

    /// The span of one call when traces are exported: its method and the
    /// kind of object (`customers`), not the object's id or the parameters.
    /// No `traceparent` goes to Stripe.
    fn call_span(&self, method: &str, path: &str) -> tracing::Span {
        let method = method.to_ascii_uppercase();
        let resource = path
            .trim_start_matches('/')
            .split('/')
            .find(|segment| !segment.is_empty() && *segment != "v1")
            .unwrap_or_default();
        tracing::info_span!(
            "stripe",
            otel.name = format!("stripe {method} {resource}"),
            otel.kind = "client",
            http.request.method = %method,
            server.address = %self.host,
            stripe.resource = resource,
            stripe.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    }
}

fn field<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Object(o) => o.get(*key),
        _ => None,
    })
}

fn text(value: &Value, path: &[&str]) -> Option<String> {
    match field(value, path)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn integer(value: &Value, path: &[&str]) -> Option<i64> {
    match field(value, path)? {
        Value::Number(n) => match *n {
            miniserde::json::Number::I64(i) => Some(i),
            miniserde::json::Number::U64(u) => i64::try_from(u).ok(),
            miniserde::json::Number::F64(f) => Some(f as i64),
        },
        _ => None,
    }
}

/// How many objects a list call asks for (Stripe's maximum).
const LIST_LIMIT: i64 = 100;

/// A list's objects, and the cursor for the next page when there is one.
fn page_of(answer: &Value) -> Result<(&[Value], Option<String>), PaymentError> {
    let Some(Value::Array(items)) = field(answer, &["data"]) else {
        return Err(PaymentError::Unknown(
            "Stripe answered a list without data".into(),
        ));
    };
    let more = matches!(field(answer, &["has_more"]), Some(Value::Bool(true)));
    let next = if more {
        items.last().and_then(|i| text(i, &["id"]))
    } else {
        None
    };
    Ok((items.as_slice(), next))
}

fn id_of(answer: &Value) -> Result<String, PaymentError> {
    text(answer, &["id"])
        .ok_or_else(|| PaymentError::Unknown("Stripe answered without an id".into()))
}

fn subscription_of(answer: &Value) -> Result<StripeSubscription, PaymentError> {
    let item = match field(answer, &["items", "data"]) {
        Some(Value::Array(items)) => items.first(),
        _ => None,
    };
    let item_id = item.and_then(|i| text(i, &["id"]));
    let plan_id = item.and_then(|i| text(i, &["plan", "id"]));
    let intent = field(answer, &["latest_invoice", "payment_intent"]);
    // Only a payment waiting on the member (3-D Secure, a new card) needs
    // its secret in the member's hands.
    let must_act = intent
        .and_then(|i| text(i, &["status"]))
        .is_some_and(|s| s.starts_with("requires_"));
    Ok(StripeSubscription {
        id: id_of(answer)?,
        item_id,
        plan_id,
        status: text(answer, &["status"]).unwrap_or_default(),
        client_secret: intent
            .filter(|_| must_act)
            .and_then(|i| text(i, &["client_secret"])),
        contribution: text(answer, &["metadata", "contribution_id"]),
        cancel_at_period_end: matches!(
            field(answer, &["cancel_at_period_end"]),
            Some(Value::Bool(true))
        ),
    })
}
