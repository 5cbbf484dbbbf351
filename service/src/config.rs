//! Typed settings from the environment (a `.env` file is read if present).
//! An invalid value stops the process at start with one line naming the setting.

use std::{fmt, net::SocketAddr, path::Path, time::Duration};

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A connection pooler in front of PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabasePooler {
    /// Connections go straight to PostgreSQL (or through a pooler in
    /// session mode, which is the same to the server).
    None,
    /// PgBouncer in `pool_mode = transaction`: a server connection is ours
    /// only while a transaction is open (see `db`).
    Transaction,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `DATABASE_POOLER`: what stands between the server and PostgreSQL.
    pub database_pooler: DatabasePooler,
    /// `DATABASE_DIRECT_URL`: PostgreSQL itself, bypassing the pooler, for
    /// what a transaction pooler cannot carry (LISTEN, the migrations).
    /// Required with `DATABASE_POOLER=transaction`, refused otherwise.
    pub database_direct_url: Option<String>,
    /// `DATABASE_READ_URL`: a streaming replica of PostgreSQL that the heavy
    /// reads go to (see `AppState::reads`); unset, they go to `DATABASE_URL`.
    pub database_read_url: Option<String>,
    /// `DATABASE_READ_MAX_CONNECTIONS`: the replica pool's size.
    pub database_read_max_connections: u32,
    /// `LISTEN_ADDR`: where the HTTP server listens; port 0 picks a free one.
    pub listen_addr: SocketAddr,
    /// `METRICS_LISTEN_ADDR`: where `/metrics` is served, apart from the
    /// public address; unset, nowhere.
    pub metrics_listen_addr: Option<SocketAddr>,
    /// `AUTH_SECRET`: keys the hashes under which bearer tokens are stored.
    pub auth_secret: Secret,
    /// `PACK_SIGNING_KEY`: the seed of the Ed25519 key that signs audit
    /// packs. Required in production; unset in development, a key is made
    /// at start (and packs verify only until the next one).
    pub pack_signing_key: Option<crate::signing::SigningSeed>,
    /// `SESSION_TTL_HOURS`: how long a sign-in lasts.
    pub session_ttl: Duration,
    /// `REQUEST_TIMEOUT_SECS`: the longest a GraphQL request may run; the
    /// database's statement timeout is a second longer (see `db`).
    pub request_timeout: Duration,
    /// `SIGN_IN_MAX_FAILURES`: failed sign-ins for one email, within
    /// `SIGN_IN_WINDOW_SECS`, before further attempts are refused.
    pub sign_in_max_failures: u32,
    /// `SIGN_IN_WINDOW_SECS`.
    pub sign_in_window: Duration,
    /// `INVITATION_TTL_DAYS`: how long an invitation link stays valid.
    pub invitation_ttl: Duration,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a request waits for a database
    /// connection (a free one in the pool, or a new one to a database that
    /// may be down) before it answers `UNAVAILABLE`.
    pub database_acquire_timeout: Duration,
    /// `STRIPE_SECRET_KEY`: contributions go through Stripe when set.
    pub stripe_secret_key: Option<Secret>,
    /// `STRIPE_WEBHOOK_SECRET`: verifies `Stripe-Signature` on webhooks.
    pub stripe_webhook_secret: Option<Secret>,
    /// `STRIPE_API_BASE`: Stripe's API, or a local fake in tests.
    pub stripe_api_base: String,
    /// `STRIPE_TIMEOUT_MS`: how long one Stripe call may take; a call without
    /// an answer by then has an unknown outcome and is settled later.
    pub stripe_timeout: Duration,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// Take the client's address from `X-Forwarded-For` (behind a proxy
    /// that sets it); otherwise the connection's peer address is recorded.
    pub trust_forwarded_for: bool,
    /// The address others reach this server at (provisioning callbacks);
    /// the listening address when unset.
    pub public_url: Option<String>,
    /// `APP_URL`: the frontend the links in emails open (confirming an
    /// address, resetting a password, an invitation); `PUBLIC_URL` when unset.
    pub app_url: Option<String>,
    /// `SMTP_URL`: the server mail goes through (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`, `smtp://host:25` for a relay on the same network). Unset,
    /// messages are written into `MAIL_DIR` instead.
    pub smtp_url: Option<Secret>,
    /// `MAIL_FROM`: the sender of every message.
    pub mail_from: String,
    /// `MAIL_DIR`: where messages are written when no SMTP server is set.
    pub mail_dir: std::path::PathBuf,
    /// `EMAIL_CONFIRMATION_TTL_HOURS`: how long a confirmation link works.
    pub email_confirmation_ttl: Duration,
    /// `PASSWORD_RESET_ADDRESS_LIMIT`: password reset requests per hour
    /// from one address (each email also gets at most a few links an hour).
    pub password_reset_address_limit: u32,
    /// Whether this server runs the job worker.
    pub run_jobs: bool,
    /// How often an idle worker looks for due jobs (PostgreSQL wakes it sooner).
    pub job_poll_interval: Duration,
    /// How long a claimed job may run before another worker takes it over.
    pub job_lease: Duration,
    /// The first retry's delay; each further retry doubles it (with jitter).
    pub job_retry_base: Duration,
    /// The most attempts any job gets here (mail excepted).
    pub job_max_attempts: i32,
    /// The attempts a message gets: enough to outlast an SMTP server down
    /// for hours, since the backoff stops growing at an hour.
    pub mail_max_attempts: i32,
    /// Jobs a worker runs at once.
    pub job_batch: u64,
    /// `JOB_SHUTDOWN_GRACE_SECS`: on shutdown, how long jobs in flight may
    /// still run before they are handed back to the queue.
    pub job_shutdown_grace: Duration,
    /// How long finished jobs are kept; `None` keeps them forever.
    pub job_retention: Option<Duration>,
    /// `PAYMENT_RECONCILE_INTERVAL_SECS`: time between payment
    /// reconciliation runs; `None` (0) turns them off.
    pub payment_reconcile_interval: Option<Duration>,
    /// Timeout of calls to provisioners and webhook endpoints.
    pub outbound_timeout: Duration,
    /// `SIGN_IN_ADDRESS_LIMIT`: sign-in attempts one client address may make
    /// per `SIGN_IN_WINDOW_SECS`, whatever the emails.
    pub sign_in_address_limit: u32,
    /// `SIGN_UP_ADDRESS_LIMIT`: accounts one client address may create per hour.
    pub sign_up_address_limit: u32,
    /// `PASSWORD_HASH_CONCURRENCY`: password hashes computed at once (each
    /// takes 19 MiB and a core for a moment); others wait briefly, then are
    /// refused with `RATE_LIMITED`. Defaults to the number of cores.
    pub password_hash_concurrency: usize,
    /// `WS_MAX_CONNECTIONS_PER_USER`: open WebSocket connections per person.
    pub ws_max_connections_per_user: usize,
    /// `WS_MAX_CONNECTIONS_PER_ADDRESS`: open WebSocket connections per client address.
    pub ws_max_connections_per_address: usize,
    /// `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`: live subscriptions on one connection.
    pub ws_max_subscriptions_per_connection: usize,
    /// `WS_IDLE_TIMEOUT_SECS`: a connection without any subscription for this
    /// long is closed.
    pub ws_idle_timeout: Duration,
    /// `AUDIT_REFUSAL_WINDOW_SECS`: repeated refusals of one mutation by one
    /// caller within a window are one audit event and a count.
    pub audit_refusal_window: Duration,
    /// `GRAPHQL_INTROSPECTION`: whether the schema can be introspected; on by
    /// default in development, off in production.
    pub introspection: bool,
    /// `GRAPHIQL`: whether browsers get the GraphiQL page at `/graphql`; on
    /// by default in development, off in production.
    pub graphiql: bool,
    /// `PLATFORM_ADMIN_EMAILS`: comma-separated emails (normalised like any
    /// account email) of the people who verify parent entities, when signed
    /// in with a session. Empty by default: nobody verifies.
    pub platform_admin_emails: Vec<String>,
    /// `OUTBOUND_ALLOW_PRIVATE`: provisioners and webhook endpoints may be
    /// on loopback and private networks (self-hosted and test setups).
    /// Link-local, multicast and other special addresses stay refused.
    pub outbound_allow_private: bool,
    /// `CORS_ALLOWED_ORIGINS`: the browser origins that may call the API
    /// (exact, comma-separated); in development also any port on loopback.
    pub cors_allowed_origins: crate::domain::AllowedOrigins,
    /// `APQ_MAX_QUERIES`: automatic persisted queries kept (the least
    /// recently used go first).
    pub apq_max_queries: usize,
    /// `APQ_MAX_QUERY_BYTES`: a longer query still runs but is not kept.
    pub apq_max_query_bytes: usize,
    /// `TEST_PANIC_OPERATION`: a GraphQL operation of this name panics when
    /// it runs, so that tests can see how the server answers a panic. Unset
    /// by default; refused in production.
    pub test_panic_operation: Option<String>,
}

/// A setting that could not be used; `Display` is the one line printed at start.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

/// Where a development server keeps the secret it generated.
const LOCAL_SECRET_FILE: &str = ".auth_secret";
const MIN_SECRET_LEN: usize = 32;

impl Config {
    /// Where to reach PostgreSQL itself: the direct URL behind a pooler,
    /// otherwise `DATABASE_URL`.
    pub fn direct_database_url(&self) -> &str {
        self.database_direct_url
            .as_deref()
            .unwrap_or(&self.database_url)
    }

    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds the settings from any lookup, so tests need not touch the
    /// process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let s = Settings(get);
        let environment = environment(&s)?;
        let development = environment == Environment::Development;
        let database_url = s
            .text("DATABASE_URL")
            .unwrap_or_else(|| "sqlite://pools.db?mode=rwc".into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(invalid(
                "DATABASE_URL",
                "must start with `sqlite:` or `postgres://`",
            ));
        }
        let tls = s.text("DATABASE_TLS");
        let database_url = database_tls(database_url, tls.clone())?;
        let (database_pooler, database_direct_url) =
            database_pooler(&s, &database_url, tls.clone())?;
        let database_read_url = database_read_url(&s, &database_url, tls)?;
        let listen_addr = s
            .text("LISTEN_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| invalid("LISTEN_ADDR", "expected host:port, such as 127.0.0.1:8080"))?;
        let metrics_listen_addr = metrics_listen_addr(&s, listen_addr)?;
        let log_format = match s.text("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("LOG_FORMAT", "expected `text` or `json`")),
        };
        let test_panic_operation = s.text("TEST_PANIC_OPERATION");
        if test_panic_operation.is_some() && !development {
            return Err(invalid(
                "TEST_PANIC_OPERATION",
                "is for tests and refused when APP_ENV=production",
            ));
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        Ok(Self {
            environment,
            database_url,
            database_pooler,
            database_direct_url,
            database_read_url,
            database_read_max_connections: s.number("DATABASE_READ_MAX_CONNECTIONS", 10, 1, 1000)?
                as u32,
            listen_addr,
            metrics_listen_addr,
            auth_secret: auth_secret(&s, environment)?,
            pack_signing_key: pack_signing_key(&s, environment)?,
            session_ttl: s.secs("SESSION_TTL_HOURS", 3600, 720, 1, 24 * 365)?,
            request_timeout: s.secs("REQUEST_TIMEOUT_SECS", 1, 30, 1, 600)?,
            sign_in_max_failures: s.number("SIGN_IN_MAX_FAILURES", 5, 1, 1000)? as u32,
            sign_in_window: s.secs("SIGN_IN_WINDOW_SECS", 1, 900, 1, 86_400)?,
            database_max_connections: s.number("DATABASE_MAX_CONNECTIONS", 10, 1, 1000)? as u32,
            database_acquire_timeout: s.millis("DATABASE_ACQUIRE_TIMEOUT_MS", 2000, 100, 60_000)?,
            invitation_ttl: s.secs("INVITATION_TTL_DAYS", 86_400, 14, 1, 365)?,
            stripe_secret_key: s.text("STRIPE_SECRET_KEY").map(Secret::new),
            stripe_webhook_secret: s.text("STRIPE_WEBHOOK_SECRET").map(Secret::new),
            stripe_api_base: s
                .http_url("STRIPE_API_BASE")?
                .unwrap_or_else(|| "https://api.stripe.com".into()),
            stripe_timeout: s.millis("STRIPE_TIMEOUT_MS", 10_000, 100, 120_000)?,
            log_format,
            trust_forwarded_for: s.flag("TRUST_FORWARDED_FOR", false)?,
            public_url: s
                .http_url("PUBLIC_URL")?
                .map(|u| u.trim_end_matches('/').to_owned()),
            app_url: s
                .http_url("APP_URL")?
                .map(|u| u.trim_end_matches('/').to_owned()),
            smtp_url: s.text("SMTP_URL").map(Secret::new),
            mail_from: s
                .text("MAIL_FROM")
                .unwrap_or_else(|| "Pools <no-reply@localhost>".into()),
            mail_dir: s.text("MAIL_DIR").unwrap_or_else(|| "mail".into()).into(),
            email_confirmation_ttl: s.secs("EMAIL_CONFIRMATION_TTL_HOURS", 3600, 48, 1, 24 * 30)?,
            password_reset_address_limit: s.number(
                "PASSWORD_RESET_ADDRESS_LIMIT",
                10,
                1,
                1_000_000,
            )? as u32,
            run_jobs: s.flag("RUN_JOBS", true)?,
            job_poll_interval: s.millis("JOB_POLL_INTERVAL_MS", 500, 10, 60_000)?,
            job_lease: s.secs("JOB_LEASE_SECS", 1, 120, 1, 86_400)?,
            job_retry_base: s.millis("JOB_RETRY_BASE_MS", 1000, 1, 3_600_000)?,
            job_max_attempts: s.number("JOB_MAX_ATTEMPTS", 10, 1, 100)? as i32,
            mail_max_attempts: s.number("MAIL_MAX_ATTEMPTS", 24, 1, 100)? as i32,
            job_batch: s.number("JOB_BATCH", 8, 1, 100)?,
            job_shutdown_grace: s.secs("JOB_SHUTDOWN_GRACE_SECS", 1, 10, 0, 600)?,
            job_retention: s.optional_secs("JOB_RETENTION_DAYS", 86_400, 30, 36_500)?,
            payment_reconcile_interval: s.optional_secs(
                "PAYMENT_RECONCILE_INTERVAL_SECS",
                1,
                3600,
                86_400 * 30,
            )?,
            outbound_timeout: s.secs("OUTBOUND_TIMEOUT_SECS", 1, 10, 1, 300)?,
            sign_in_address_limit: s.number("SIGN_IN_ADDRESS_LIMIT", 30, 1, 1_000_000)? as u32,
            sign_up_address_limit: s.number("SIGN_UP_ADDRESS_LIMIT", 10, 1, 1_000_000)? as u32,
            password_hash_concurrency: s.number("PASSWORD_HASH_CONCURRENCY", cores, 1, 256)?
                as usize,
            ws_max_connections_per_user: s.number("WS_MAX_CONNECTIONS_PER_USER", 10, 1, 10_000)?
                as usize,
            ws_max_connections_per_address: s.number(
                "WS_MAX_CONNECTIONS_PER_ADDRESS",
                50,
                1,
                100_000,
            )? as usize,
            ws_max_subscriptions_per_connection: s.number(
                "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                20,
                1,
                1_000,
            )? as usize,
            ws_idle_timeout: s.secs("WS_IDLE_TIMEOUT_SECS", 1, 300, 1, 86_400)?,
            audit_refusal_window: s.secs("AUDIT_REFUSAL_WINDOW_SECS", 1, 3600, 1, 86_400)?,
            introspection: s.flag("GRAPHQL_INTROSPECTION", development)?,
            graphiql: s.flag("GRAPHIQL", development)?,
            platform_admin_emails: platform_admin_emails(&s)?,
            outbound_allow_private: s.flag("OUTBOUND_ALLOW_PRIVATE", false)?,
            cors_allowed_origins: crate::domain::AllowedOrigins::parse(
                &s.text("CORS_ALLOWED_ORIGINS").unwrap_or_default(),
                development,
            )
            .map_err(|reason| invalid("CORS_ALLOWED_ORIGINS", reason))?,
            apq_max_queries: s.number("APQ_MAX_QUERIES", 1000, 1, 100_000)? as usize,
            apq_max_query_bytes: s.number("APQ_MAX_QUERY_BYTES", 32_768, 1024, 1024 * 1024)?
                as usize,
            test_panic_operation,
        })
    }
}

/// Settings read by name, each parsed and checked, each error naming its
/// setting.
struct Settings<F>(F);

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    fn text(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// A whole number from `min` to `max`, `default` when unset.
    fn number(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        match self.text(name) {
            None => Ok(default),
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(invalid(
                    name,
                    format!("expected a whole number from {min} to {max}"),
                )),
            },
        }
    }

    /// A duration given in units of `unit` seconds.
    fn secs(
        &self,
        name: &'static str,
        unit: u64,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            unit * self.number(name, default, min, max)?,
        ))
    }

    /// A duration in units of `unit` seconds, where 0 means never.
    fn optional_secs(
        &self,
        name: &'static str,
        unit: u64,
        default: u64,
        max: u64,
    ) -> Result<Option<Duration>, ConfigError> {
        Ok(match self.number(name, default, 0, max)? {
            0 => None,
            n => Some(Duration::from_secs(unit * n)),
        })
    }

    fn millis(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.number(name, default, min, max)?))
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.text(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(invalid(name, "expected `true` or `false`")),
        }
    }

    fn http_url(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.text(name) {
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                Err(invalid(name, "must be an http(s) URL"))
            }
            url => Ok(url),
        }
    }
}

/// `METRICS_LISTEN_ADDR`: its own address, since what it serves is for the
/// operator, not the public. Port 0 on both picks two free ports.
fn metrics_listen_addr<F: Fn(&str) -> Option<String>>(
    s: &Settings<F>,
    listen_addr: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = s.text("METRICS_LISTEN_ADDR") else {
        return Ok(None);
    };
    let addr: SocketAddr = raw.trim().parse().map_err(|_| {
        invalid(
            "METRICS_LISTEN_ADDR",
            "expected host:port, such as 127.0.0.1:9090",
        )
    })?;
    if addr == listen_addr && addr.port() != 0 {
        return Err(invalid(
            "METRICS_LISTEN_ADDR",
            "must differ from LISTEN_ADDR: metrics are not served on the public address",
        ));
    }
    Ok(Some(addr))
}

/// TLS to PostgreSQL as asked, and only as asked: by `sslmode` in the URL
/// or by `DATABASE_TLS` (`disable`, the default, `prefer`, `require`,
/// `verify-ca`, `verify-full`). The driver's own default, `prefer`, would
/// encrypt a connection to a database on the same machine, which protects
/// nothing and costs a tenth to a third of the throughput, and would fall
/// back to plain text elsewhere without a word.
fn database_tls(url: String, tls: Option<String>) -> Result<String, ConfigError> {
    const MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];
    if !url.starts_with("postgres") {
        return match tls {
            Some(_) => Err(invalid("DATABASE_TLS", "applies to PostgreSQL only")),
            None => Ok(url),
        };
    }
    if let Some(mode) = &tls
        && !MODES.contains(&mode.as_str())
    {
        return Err(invalid(
            "DATABASE_TLS",
            format!("expected one of {}", MODES.join(", ")),
        ));
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if query.split('&').any(|pair| pair.starts_with("sslmode=")) {
        return match tls {
            Some(_) => Err(invalid(
                "DATABASE_TLS",
                "DATABASE_URL already sets `sslmode`; set TLS in one place",
            )),
            None => Ok(url),
        };
    }
    let mode = tls.as_deref().unwrap_or("disable");
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}sslmode={mode}"))
}

/// `DATABASE_POOLER` and the direct URL it needs. A transaction pooler
/// hands a server connection to another client at the end of every
/// transaction, so session state does not survive: LISTEN would stop
/// hearing, and the migrations' DDL and lock want one session of their own.
fn database_pooler(
    s: &Settings<impl Fn(&str) -> Option<String>>,
    database_url: &str,
    tls: Option<String>,
) -> Result<(DatabasePooler, Option<String>), ConfigError> {
    let pooler = match s.text("DATABASE_POOLER").as_deref() {
        None | Some("none") => DatabasePooler::None,
        Some("transaction") => DatabasePooler::Transaction,
        Some(_) => {
            return Err(invalid(
                "DATABASE_POOLER",
                "expected `none` or `transaction` (PgBouncer's pool_mode = transaction)",
            ));
        }
    };
    let postgres = database_url.starts_with("postgres");
    if pooler == DatabasePooler::Transaction && !postgres {
        return Err(invalid("DATABASE_POOLER", "applies to PostgreSQL only"));
    }
    let direct = s.text("DATABASE_DIRECT_URL");
    match (pooler, direct) {
        (DatabasePooler::None, None) => Ok((pooler, None)),
        (DatabasePooler::None, Some(_)) => Err(invalid(
            "DATABASE_DIRECT_URL",
            "applies with DATABASE_POOLER=transaction only",
        )),
        (DatabasePooler::Transaction, None) => Err(invalid(
            "DATABASE_DIRECT_URL",
            "is required with DATABASE_POOLER=transaction: a postgres:// URL of PostgreSQL \
             itself, bypassing the pooler, for LISTEN and the migrations",
        )),
        (DatabasePooler::Transaction, Some(url)) if !url.starts_with("postgres") => Err(invalid(
            "DATABASE_DIRECT_URL",
            "must start with `postgres://`",
        )),
        (DatabasePooler::Transaction, Some(url)) => Ok((pooler, Some(other_url_tls(url, tls)?))),
    }
}

/// TLS as for DATABASE_URL; `sslmode` in the other URL overrides it.
fn other_url_tls(url: String, tls: Option<String>) -> Result<String, ConfigError> {
    match tls {
        Some(_) if url.contains("sslmode=") => Ok(url),
        tls => database_tls(url, tls),
    }
}

/// `DATABASE_READ_URL`: a PostgreSQL replica of `DATABASE_URL`'s database,
/// reached the same way (through the same kind of pooler, if any).
fn database_read_url(
    s: &Settings<impl Fn(&str) -> Option<String>>,
    database_url: &str,
    tls: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(url) = s.text("DATABASE_READ_URL") else {
        return Ok(None);
    };
    if !database_url.starts_with("postgres") {
        return Err(invalid(
            "DATABASE_READ_URL",
            "applies to PostgreSQL only (DATABASE_URL is SQLite, which has no replicas)",
        ));
    }
    if !url.starts_with("postgres") {
        return Err(invalid(
            "DATABASE_READ_URL",
            "must start with `postgres://`",
        ));
    }
    other_url_tls(url, tls).map(Some)
}

fn environment(s: &Settings<impl Fn(&str) -> Option<String>>) -> Result<Environment, ConfigError> {
    match s.text("APP_ENV").as_deref() {
        None | Some("development") => Ok(Environment::Development),
        Some("production") => Ok(Environment::Production),
        Some(other) => Err(invalid(
            "APP_ENV",
            format!("`{other}` is neither `development` nor `production`"),
        )),
    }
}

/// `AUTH_SECRET`: long and random-looking in production, where it is
/// required; generated and kept in a local file in development.
fn auth_secret(
    s: &Settings<impl Fn(&str) -> Option<String>>,
    environment: Environment,
) -> Result<Secret, ConfigError> {
    match s.text("AUTH_SECRET") {
        Some(s) if s.len() < MIN_SECRET_LEN => Err(invalid(
            "AUTH_SECRET",
            format!("must be at least {MIN_SECRET_LEN} characters"),
        )),
        Some(s) if environment == Environment::Production && !high_entropy(&s) => Err(invalid(
            "AUTH_SECRET",
            "looks guessable (too few different characters, or a run or a repeated pattern); \
             generate one, for example with `openssl rand -base64 48`",
        )),
        Some(s) => Ok(Secret::new(s)),
        None if environment == Environment::Production => Err(invalid(
            "AUTH_SECRET",
            "is required when APP_ENV=production",
        )),
        None => local_development_secret(),
    }
}

/// `PACK_SIGNING_KEY`: base64 of a 32-byte seed; required, and random
/// looking, in production.
fn pack_signing_key(
    s: &Settings<impl Fn(&str) -> Option<String>>,
    environment: Environment,
) -> Result<Option<crate::signing::SigningSeed>, ConfigError> {
    let production = environment == Environment::Production;
    match s.text("PACK_SIGNING_KEY") {
        Some(text) => {
            let seed = crate::signing::SigningSeed::parse(&text)
                .map_err(|reason| invalid("PACK_SIGNING_KEY", reason))?;
            if production && !seed.looks_random() {
                return Err(invalid(
                    "PACK_SIGNING_KEY",
                    "looks guessable (too few different bytes); make one with `openssl rand -base64 32`",
                ));
            }
            Ok(Some(seed))
        }
        None if production => Err(invalid(
            "PACK_SIGNING_KEY",
            "is required when APP_ENV=production (audit packs are signed with it); \
             make one with `openssl rand -base64 32`",
        )),
        None => Ok(None),
    }
}

fn platform_admin_emails(
    s: &Settings<impl Fn(&str) -> Option<String>>,
) -> Result<Vec<String>, ConfigError> {
    s.text("PLATFORM_ADMIN_EMAILS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            crate::domain::Email::parse(e, "PLATFORM_ADMIN_EMAILS")
                .map(|e| e.as_str().to_owned())
                .map_err(|err| invalid("PLATFORM_ADMIN_EMAILS", err.message))
        })
        .collect()
}

/// Whether a secret could have come from a random generator: enough
/// different characters, no long run of one character, and not a short
/// pattern repeated (`abcabcabc…`) or a sequence (`abcdefgh…`).
fn high_entropy(secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    let distinct = chars
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let longest_run = chars
        .chunk_by(|a, b| a == b)
        .map(<[char]>::len)
        .max()
        .unwrap_or(0);
    let repeats_pattern = (1..=chars.len() / 2).any(|period| {
        chars
            .iter()
            .zip(chars.iter().skip(period))
            .all(|(a, b)| a == b)
    });
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(u32::from(w[1])) - i64::from(u32::from(w[0])))
        .collect();
    let sequential = steps.iter().filter(|s| s.abs() == 1).count() * 2 > steps.len();
    distinct >= 12 && longest_run <= 4 && !repeats_pattern && !sequential
}

/// In development the secret is generated once and kept in a local file
/// that only its owner may read, so sign-ins survive restarts without any
/// setup.
fn local_development_secret() -> Result<Secret, ConfigError> {
    let path = Path::new(LOCAL_SECRET_FILE);
    let unsaved = |e: std::io::Error| {
        invalid(
            "AUTH_SECRET",
            format!(
                "is unset and a development secret could not be saved in {LOCAL_SECRET_FILE}: {e}"
            ),
        )
    };
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_LEN {
            // Files written by older versions were readable by everyone.
            owner_only(path).map_err(unsaved)?;
            return Ok(Secret::new(existing));
        }
    }
    let generated = crate::domain::random_secret(32);
    write_owner_only(path, &generated).map_err(unsaved)?;
    Ok(Secret::new(generated))
}

#[cfg(unix)]
fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    owner_only(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const SECRET: (&str, &str) = ("AUTH_SECRET", "0123456789abcdef0123456789abcdef");
    /// A production pack signing key (base64 of 32 random bytes).
    const PACK_KEY: (&str, &str) = (
        "PACK_SIGNING_KEY",
        "gfDrZ//VswLkcoBxLh4M/W6y92pDhru6pd3dICP4BqI=",
    );

    #[test]
    fn defaults_are_the_embedded_database_on_port_8080() {
        let c = config(&[SECRET]).unwrap();
        assert_eq!(c.database_url, "sqlite://pools.db?mode=rwc");
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.database_acquire_timeout, Duration::from_secs(2));
        assert_eq!(c.job_shutdown_grace, Duration::from_secs(10));
        assert!(
            !c.outbound_allow_private,
            "private targets are closed by default"
        );
    }

    #[test]
    fn postgres_uses_tls_only_when_asked() {
        let url = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.database_url);
        let pg = ("DATABASE_URL", "postgres://db.example/pools");
        assert_eq!(
            url(&[SECRET, pg]).unwrap(),
            "postgres://db.example/pools?sslmode=disable"
        );
        assert_eq!(
            url(&[SECRET, pg, ("DATABASE_TLS", "verify-full")]).unwrap(),
            "postgres://db.example/pools?sslmode=verify-full"
        );
        let with_mode = (
            "DATABASE_URL",
            "postgres://db.example/pools?application_name=x&sslmode=require",
        );
        assert_eq!(url(&[SECRET, with_mode]).unwrap(), with_mode.1);
        for bad in [
            vec![SECRET, with_mode, ("DATABASE_TLS", "require")],
            vec![SECRET, pg, ("DATABASE_TLS", "always")],
            vec![SECRET, ("DATABASE_TLS", "require")],
        ] {
            assert_eq!(url(&bad).unwrap_err().name, "DATABASE_TLS");
        }
        assert_eq!(
            url(&[
                SECRET,
                ("DATABASE_URL", "postgres://localhost/p?application_name=x")
            ])
            .unwrap(),
            "postgres://localhost/p?application_name=x&sslmode=disable"
        );
    }

    #[test]
    fn a_transaction_pooler_needs_a_direct_url_to_postgres() {
        let pg = ("DATABASE_URL", "postgres://pgbouncer.example:6432/pools");
        let pooler = ("DATABASE_POOLER", "transaction");
        let direct = ("DATABASE_DIRECT_URL", "postgres://db.example/pools");
        let c = config(&[SECRET, pg]).unwrap();
        assert_eq!(c.database_pooler, DatabasePooler::None);
        assert_eq!(c.direct_database_url(), c.database_url);

        let c = config(&[SECRET, pg, pooler, direct]).unwrap();
        assert_eq!(c.database_pooler, DatabasePooler::Transaction);
        assert_eq!(
            c.direct_database_url(),
            "postgres://db.example/pools?sslmode=disable"
        );
        let c = config(&[SECRET, pg, pooler, direct, ("DATABASE_TLS", "require")]).unwrap();
        assert_eq!(
            c.direct_database_url(),
            "postgres://db.example/pools?sslmode=require"
        );

        for (bad, name) in [
            (vec![SECRET, pg, pooler], "DATABASE_DIRECT_URL"),
            (vec![SECRET, pg, direct], "DATABASE_DIRECT_URL"),
            (
                vec![SECRET, pg, pooler, ("DATABASE_DIRECT_URL", "sqlite://x.db")],
                "DATABASE_DIRECT_URL",
            ),
            (
                vec![SECRET, pg, ("DATABASE_POOLER", "session")],
                "DATABASE_POOLER",
            ),
            (vec![SECRET, pooler, direct], "DATABASE_POOLER"),
        ] {
            assert_eq!(config(&bad).unwrap_err().name, name, "{bad:?}");
        }
        let missing = config(&[SECRET, pg, pooler]).unwrap_err().to_string();
        assert!(missing.contains("DATABASE_POOLER=transaction"), "{missing}");
    }

    #[test]
    fn a_read_replica_is_for_postgres_only() {
        let pg = ("DATABASE_URL", "postgres://db.example/pools");
        let read = ("DATABASE_READ_URL", "postgres://replica.example/pools");
        assert_eq!(config(&[SECRET, pg]).unwrap().database_read_url, None);
        let c = config(&[SECRET, pg, read, ("DATABASE_READ_MAX_CONNECTIONS", "4")]).unwrap();
        assert_eq!(
            c.database_read_url.as_deref(),
            Some("postgres://replica.example/pools?sslmode=disable")
        );
        assert_eq!(c.database_read_max_connections, 4);
        let c = config(&[SECRET, pg, read, ("DATABASE_TLS", "require")]).unwrap();
        assert_eq!(
            c.database_read_url.as_deref(),
            Some("postgres://replica.example/pools?sslmode=require")
        );

        let sqlite = config(&[SECRET, read]).unwrap_err();
        assert_eq!(sqlite.name, "DATABASE_READ_URL");
        assert!(sqlite.to_string().contains("PostgreSQL only"), "{sqlite}");
        let bad = config(&[SECRET, pg, ("DATABASE_READ_URL", "sqlite://x.db")]).unwrap_err();
        assert_eq!(bad.name, "DATABASE_READ_URL");
        let bad = config(&[SECRET, pg, read, ("DATABASE_READ_MAX_CONNECTIONS", "0")]).unwrap_err();
        assert_eq!(bad.name, "DATABASE_READ_MAX_CONNECTIONS");
    }

    #[test]
    fn metrics_are_served_apart_from_the_public_address_or_not_at_all() {
        let metrics = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.metrics_listen_addr);
        assert_eq!(metrics(&[SECRET]).unwrap(), None);
        assert_eq!(
            metrics(&[SECRET, ("METRICS_LISTEN_ADDR", "127.0.0.1:9090")])
                .unwrap()
                .map(|a| a.to_string()),
            Some("127.0.0.1:9090".to_owned())
        );
        // Two free ports, as the tests ask for.
        let both_free = [
            SECRET,
            ("LISTEN_ADDR", "127.0.0.1:0"),
            ("METRICS_LISTEN_ADDR", "127.0.0.1:0"),
        ];
        assert!(metrics(&both_free).unwrap().is_some());
        for bad in ["127.0.0.1:8080", "9090", "localhost:9090", "metrics"] {
            let err = metrics(&[SECRET, ("METRICS_LISTEN_ADDR", bad)]).unwrap_err();
            assert_eq!(err.name, "METRICS_LISTEN_ADDR", "{bad}");
            assert!(
                err.to_string()
                    .starts_with("invalid setting METRICS_LISTEN_ADDR"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_invalid_value_names_the_setting() {
        let err = config(&[SECRET, ("LISTEN_ADDR", "eighty")]).unwrap_err();
        assert_eq!(err.name, "LISTEN_ADDR");
        assert!(err.to_string().starts_with("invalid setting LISTEN_ADDR"));
        let err = config(&[SECRET, ("REQUEST_TIMEOUT_SECS", "0")]).unwrap_err();
        assert_eq!(err.name, "REQUEST_TIMEOUT_SECS");
    }

    #[test]
    fn production_requires_a_secret() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.name, "AUTH_SECRET");
        let err = config(&[("AUTH_SECRET", "short")]).unwrap_err();
        assert_eq!(err.name, "AUTH_SECRET");
    }

    #[test]
    fn production_refuses_a_guessable_secret() {
        for weak in [
            "a".repeat(32),
            "abcabcabcabcabcabcabcabcabcabcab".to_owned(),
            "abcdefghijklmnopqrstuvwxyz012345".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
            "passwordpasswordpasswordpassword".to_owned(),
        ] {
            let err = config(&[("APP_ENV", "production"), ("AUTH_SECRET", &weak)]).unwrap_err();
            assert_eq!(err.name, "AUTH_SECRET", "{weak} was accepted");
        }
        let strong = "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl";
        let c = config(&[("APP_ENV", "production"), ("AUTH_SECRET", strong), PACK_KEY]).unwrap();
        assert!(!c.introspection && !c.graphiql);
        // Development keeps accepting any long enough secret.
        assert!(config(&[("AUTH_SECRET", &"a".repeat(32))]).is_ok());
    }

    #[test]
    fn production_turns_introspection_and_graphiql_off_unless_asked() {
        let strong = "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl";
        let c = config(&[
            ("APP_ENV", "production"),
            ("AUTH_SECRET", strong),
            PACK_KEY,
            ("GRAPHQL_INTROSPECTION", "true"),
        ])
        .unwrap();
        assert!(c.introspection && !c.graphiql);
        let c = config(&[SECRET]).unwrap();
        assert!(c.introspection && c.graphiql);
    }

    #[test]
    fn production_requires_a_random_pack_signing_key() {
        let strong = ("AUTH_SECRET", "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl");
        let production = ("APP_ENV", "production");
        let err = config(&[production, strong]).unwrap_err();
        assert_eq!(err.name, "PACK_SIGNING_KEY");
        assert!(err.reason.contains("required"), "{err}");
        // 32 bytes of base64, but all of them zero.
        let zeros = (
            "PACK_SIGNING_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        );
        assert_eq!(
            config(&[production, strong, zeros]).unwrap_err().name,
            "PACK_SIGNING_KEY"
        );
        assert!(
            config(&[production, strong, PACK_KEY])
                .unwrap()
                .pack_signing_key
                .is_some()
        );
        // Development makes one at start when none is set, and takes any.
        assert!(config(&[SECRET]).unwrap().pack_signing_key.is_none());
        assert!(config(&[SECRET, zeros]).is_ok());
        for bad in ["not base64!", "AAAA"] {
            let err = config(&[SECRET, ("PACK_SIGNING_KEY", bad)]).unwrap_err();
            assert_eq!(err.name, "PACK_SIGNING_KEY", "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_development_secret_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_owner_only(&path, "0123456789abcdef0123456789abcdef").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn platform_admins_are_normalised_emails() {
        let c = config(&[SECRET]).unwrap();
        assert!(c.platform_admin_emails.is_empty());
        let c = config(&[
            SECRET,
            ("PLATFORM_ADMIN_EMAILS", " Ada@Example.org, ,bo@example.org"),
        ])
        .unwrap();
        assert_eq!(
            c.platform_admin_emails,
            vec!["ada@example.org", "bo@example.org"]
        );
        let err =
            config(&[SECRET, ("PLATFORM_ADMIN_EMAILS", "ada@example.org,nobody")]).unwrap_err();
        assert_eq!(err.name, "PLATFORM_ADMIN_EMAILS");
    }

    #[test]
    fn cors_origins_are_exact_and_loopback_is_for_development() {
        let c = config(&[SECRET]).unwrap();
        assert!(c.cors_allowed_origins.allows("http://localhost:3000"));
        assert!(!c.cors_allowed_origins.allows("https://app.example.org"));
        let strong = "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl";
        let c = config(&[
            ("APP_ENV", "production"),
            ("AUTH_SECRET", strong),
            PACK_KEY,
            ("CORS_ALLOWED_ORIGINS", "https://app.example.org"),
        ])
        .unwrap();
        assert!(c.cors_allowed_origins.allows("https://app.example.org"));
        assert!(!c.cors_allowed_origins.allows("http://localhost:3000"));
        let err = config(&[SECRET, ("CORS_ALLOWED_ORIGINS", "*")]).unwrap_err();
        assert_eq!(err.name, "CORS_ALLOWED_ORIGINS");
        assert!(err.to_string().contains("`*`"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = config(&[SECRET]).unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
