//! Building and running the server; `main` and the tests start it the same way.

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::{Arc, atomic::AtomicU64},
};

use migration::{Migrator, MigratorTrait};
use tokio::net::TcpListener;

use crate::{
    catalogue::Catalogue,
    config::Config,
    db,
    metrics::Metrics,
    outbound::GuardedClient,
    payments::StripeGateway,
    routes,
    shutdown::ShutdownHandle,
    signing::{PackSigner, SigningSeed},
    state::AppState,
};

/// Applies pending migrations: on the pool, or behind a transaction pooler
/// on a direct connection of their own, closed afterwards.
async fn migrate(config: &Config, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let failed = |e| anyhow::anyhow!("applying migrations failed: {e}");
    match &config.database_direct_url {
        None => Migrator::up(db, None).await.map_err(failed),
        Some(url) => {
            let direct = db::connect_direct(url).await.map_err(|e| {
                anyhow::anyhow!("cannot connect to the database at DATABASE_DIRECT_URL: {e}")
            })?;
            let applied = Migrator::up(&direct, None).await.map_err(failed);
            direct.close().await.ok();
            applied
        }
    }
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// `METRICS_LISTEN_ADDR`'s listener, when set: `/metrics` and nothing else.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds the
    /// listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let catalogue =
            Catalogue::load().map_err(|e| anyhow::anyhow!("the catalogue is invalid: {e}"))?;
        let metrics =
            Metrics::new().map_err(|e| anyhow::anyhow!("cannot set up the metrics: {e}"))?;
        let sql_statements = Arc::new(AtomicU64::new(0));
        let db = db::connect(&config, sql_statements.clone(), metrics.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        migrate(&config, &db).await?;
        let reads = db::connect_reads(&config, sql_statements.clone(), metrics.clone())
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot connect to the replica at DATABASE_READ_URL: {e}")
            })?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen_addr))?;
        let metrics_listener = match config.metrics_listen_addr {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!("cannot listen on {addr} (METRICS_LISTEN_ADDR): {e}")
            })?),
            None => None,
        };
        let stripe = match &config.stripe_secret_key {
            Some(key) => Some(Arc::new(
                StripeGateway::new(
                    key.expose(),
                    &config.stripe_api_base,
                    config.stripe_timeout,
                    metrics.clone(),
                )
                .map_err(|e| anyhow::anyhow!("cannot set up the Stripe client: {e}"))?,
            )),
            None => None,
        };
        let http = GuardedClient::from_config(&config)
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client: {e}"))?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let mailer = crate::mail::Mailer::new(
            config.smtp_url.as_ref().map(|u| u.expose()),
            &config.mail_from,
            config.mail_dir.clone(),
        )
        .map_err(|(setting, reason)| anyhow::anyhow!("{setting} {reason}"))?;
        let app_url = config.app_url.clone().unwrap_or_else(|| public_url.clone());
        let limits = Arc::new(crate::limits::Limits::new(&config));
        let pack_signer = match &config.pack_signing_key {
            Some(seed) => PackSigner::new(seed),
            None => {
                let signer = PackSigner::new(&SigningSeed::generate());
                tracing::warn!(
                    key_id = signer.key_id(),
                    "PACK_SIGNING_KEY is unset: audit packs are signed with a key made for this run \
                     only (production refuses to start without one)"
                );
                signer
            }
        };
        let pooled = config.database_pooler == crate::config::DatabasePooler::Transaction;
        let db = crate::connection::Db::new(db, pooled);
        let state = AppState {
            mailer: Arc::new(mailer),
            app_url,
            limits,
            reads: match reads {
                Some(replica) => crate::connection::Db::new(replica, pooled),
                None => db.clone(),
            },
            db,
            public_url,
            config: Arc::new(config),
            catalogue: Arc::new(catalogue),
            sql_statements,
            stripe,
            worker_id: format!("worker-{}", uuid::Uuid::now_v7()),
            http,
            signals: Default::default(),
            shutdown: Default::default(),
            pack_signer: Arc::new(pack_signer),
            metrics,
        };
        Ok(Self {
            router: routes::router(state.clone()),
            listener,
            metrics_listener,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when `METRICS_LISTEN_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops this server, once running, as SIGTERM would.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.state.shutdown.clone())
    }

    /// Serves until SIGTERM, Ctrl-C or [`ShutdownHandle::shut_down`]. Then:
    /// no new connections; requests in flight finish; the job worker claims
    /// nothing more, lets its jobs run for `JOB_SHUTDOWN_GRACE_SECS` and
    /// hands back the rest; WebSockets get a close frame (1001).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        let listener = crate::services::signals::spawn_listener(
            self.state.db.get_database_backend(),
            self.state.config.direct_database_url().to_owned(),
            self.state.signals.clone(),
        );
        if let Err(e) =
            crate::services::contributions::reconcile::schedule_at_startup(&self.state).await
        {
            tracing::error!(error = ?e, "queueing payment reconciliation failed");
        }
        let worker = self.state.config.run_jobs.then(|| {
            crate::services::jobs::worker::spawn(
                self.state.clone(),
                self.state.signals.jobs.clone(),
                std::sync::Arc::new(crate::services::runners::jobs()),
            )
        });
        let limits = self.state.limits.clone();
        let forget = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                limits.forget_idle();
            }
        });
        if let Err(e) = crate::services::proposals::closing::schedule_unscheduled(&self.state).await
        {
            tracing::error!(error = ?e, "scheduling the closing of open proposals failed");
        }
        if let Err(e) = crate::services::commons::rent::schedule_unscheduled(&self.state).await {
            tracing::error!(error = ?e, "scheduling the rent of running leases failed");
        }
        if let Err(e) =
            crate::services::commons::fund::assembly::schedule_unscheduled(&self.state).await
        {
            tracing::error!(error = ?e, "scheduling the closing of fund applications failed");
        }
        if let Err(e) =
            crate::services::commons::fund::repayments::schedule_unscheduled(&self.state).await
        {
            tracing::error!(error = ?e, "scheduling the repayment of loans failed");
        }
        // Scrapes are short: this listener stops as soon as shutdown begins.
        let metrics = self.metrics_listener.map(|listener| {
            let router = routes::metrics::router(self.state.clone());
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.triggered().await })
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "serving metrics failed");
                }
            })
        });
        let signal = shutdown.clone();
        let result = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown_signal() => signal.trigger(),
                () = signal.triggered() => {}
            }
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await;
        // Also when serving failed: the worker and sockets must stop.
        shutdown.trigger();
        if let Some(worker) = worker
            && let Err(e) = worker.await
        {
            tracing::error!(error = %e, "the job worker ended abnormally");
        }
        if !shutdown.connections_closed(WEBSOCKET_CLOSE_WAIT).await {
            tracing::warn!("WebSocket connections did not close in time");
        }
        if let Some(metrics) = metrics
            && let Err(e) = metrics.await
        {
            tracing::error!(error = %e, "the metrics listener ended abnormally");
        }
        forget.abort();
        if let Some(task) = listener {
            task.abort();
        }
        tracing::info!("stopped");
        result
    }
}

/// `api serve`: the settings from the environment, logs and traces as
/// they say, the server until it is stopped, then the last spans exported.
pub async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let telemetry =
        match crate::telemetry::init_with_traces(config.log_format, config.database_pooler) {
            Ok(telemetry) => telemetry,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
    let code = match Application::build(config).await {
        Ok(app) => {
            match app.local_addr() {
                Ok(addr) => tracing::info!("GraphQL at http://{addr}/graphql"),
                Err(e) => tracing::warn!(error = %e, "cannot read the listening address"),
            }
            match app.run_until_stopped().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "server stopped");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    };
    // The exporter's thread posts what is left; a blocking wait, off the
    // runtime's threads.
    if tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("exporting the last spans failed");
    }
    code
}

/// How long shutdown waits for WebSocket clients to take their close frame.
const WEBSOCKET_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
