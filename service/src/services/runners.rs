//! The runner of every job kind, registered for the worker. This is the one
//! place that knows both the queue and the domains; the queue itself knows
//! none of them.

use crate::services::{
    commons,
    contributions::{collection, reconcile, stripe_flow, webhook},
    jobs::Registry,
    notifications::{self, Notice},
    outbox::{app_accounts::SyncAppAccount, webhook_events::DeliverWebhook},
    proposals::closing::{self, CloseProposal},
    provisioning::{self, DeprovisionApp, ProvisionApp},
    webhooks,
};

pub fn jobs() -> Registry {
    Registry::new()
        .register(|state, job, args: ProvisionApp| async move {
            provisioning::run_provision(&state, &job, args).await
        })
        .on_give_up(|state, args: ProvisionApp, error| async move {
            provisioning::give_up(&state, args, &error).await
        })
        .register(|state, job, args: SyncAppAccount| async move {
            provisioning::run_account_sync(&state, &job, args).await
        })
        .register(|state, job, args: DeliverWebhook| async move {
            webhooks::deliver(&state, &job, args).await
        })
        .on_give_up(|state, args: DeliverWebhook, error| async move {
            webhooks::give_up(&state, args, &error).await
        })
        .register(|state, _, args: commons::rent::ChargeRent| async move {
            commons::rent::run(&state, args).await
        })
        .register(
            |state, _, args: commons::fund::assembly::CloseFundApplication| async move {
                commons::fund::assembly::run_close(&state, args).await
            },
        )
        .register(
            |state, _, args: commons::fund::repayments::CollectLoanRepayment| async move {
                commons::fund::repayments::run(&state, args).await
            },
        )
        .register(|state, _, args: CloseProposal| async move {
            closing::run_close_job(&state, args).await
        })
        .register(
            |state, _, args: stripe_flow::SettleContribution| async move {
                stripe_flow::run_settle(&state, args).await
            },
        )
        .register(|state, _, args: webhook::ApplyStripeEvent| async move {
            webhook::run_waiting(&state, args).await
        })
        .register(|state, _, args: reconcile::ReconcilePayments| async move {
            reconcile::run_job(&state, args).await
        })
        // The chain of runs goes on after one that gave up.
        .on_give_up(|state, _: reconcile::ReconcilePayments, _| async move {
            reconcile::schedule_next(&state).await
        })
        .register(|state, _, args: collection::SyncCollection| async move {
            collection::run_sync(&state, args).await
        })
        .register(|state, _, args: collection::CancelCollection| async move {
            collection::run_cancel(&state, args).await
        })
        .register(|state, job, args: DeprovisionApp| async move {
            provisioning::run_deprovision(&state, &job, args).await
        })
        .on_give_up(|state, args: DeprovisionApp, error| async move {
            provisioning::give_up_deprovision(&state, args, &error).await
        })
        .register(|state, job, notice: Notice| async move {
            notifications::run(&state, &job, notice).await
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_has_a_runner() {
        assert_eq!(super::jobs().missing(), []);
    }
}
