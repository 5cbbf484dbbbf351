//! Payments: the Stripe gateway and webhook signature checks.

pub mod signature;
mod stripe;

pub use self::stripe::{
    InvoicePage, ListedInvoice, ListedSubscription, PaymentError, StripeGateway,
    StripeSubscription, SubscriptionPage,
};

use crate::error::AppError;

impl From<PaymentError> for AppError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::Declined(m) => AppError::PaymentFailed(m),
            PaymentError::KeyReused(m) => AppError::Conflict(m),
            e @ (PaymentError::Invalid { .. }
            | PaymentError::Missing { .. }
            | PaymentError::Unreachable(_)
            | PaymentError::Unknown(_)) => AppError::PaymentProvider(e.to_string()),
            PaymentError::Internal(m) => AppError::internal(anyhow::anyhow!(m)),
        }
    }
}
