//! The test harness: a server per test, a database per test, and small
//! helpers that speak GraphQL over HTTP.

use std::collections::HashMap;

use api::{config::Config, startup::Application};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

/// Runs each named `async fn(TestApp)` once per database: as
/// `<name>::sqlite`, `<name>::postgres` and `<name>::pgbouncer` (the same
/// PostgreSQL through PgBouncer in transaction mode). A run without
/// PostgreSQL or PgBouncer fails those halves, unless `SKIP_POSTGRES=1` or
/// `SKIP_PGBOUNCER=1` builds them ignored (see `databases.rs`).
///
/// `postgres only;` makes the PostgreSQL halves alone, for what SQLite
/// cannot do at all (such as two servers on one database). `needs stripe;`
/// is for tests against localstripe, which `SKIP_STRIPE=1` builds ignored,
/// and `needs smtp;` for those that read mail (`SKIP_SMTP=1`).
macro_rules! on_both_databases {
    (settings: $settings:expr; needs stripe; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                on_both_databases!(@sqlite $settings, $name,
                    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]);
                on_both_databases!(@postgres $settings, $name,
                    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
                    #[cfg_attr(all(skip_postgres, not(skip_stripe)), ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]);
                on_both_databases!(@pgbouncer $settings, $name,
                    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
                    #[cfg_attr(all(skip_postgres, not(skip_stripe)), ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
                    #[cfg_attr(all(skip_pgbouncer, not(any(skip_postgres, skip_stripe))), ignore = "SKIP_PGBOUNCER=1: needs PgBouncer")]);
            }
        )*
    };
    (settings: $settings:expr; needs smtp; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                on_both_databases!(@sqlite $settings, $name,
                    #[cfg_attr(skip_smtp, ignore = "SKIP_SMTP=1: needs the test SMTP server")]);
                on_both_databases!(@postgres $settings, $name,
                    #[cfg_attr(skip_smtp, ignore = "SKIP_SMTP=1: needs the test SMTP server")]
                    #[cfg_attr(all(skip_postgres, not(skip_smtp)), ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]);
                on_both_databases!(@pgbouncer $settings, $name,
                    #[cfg_attr(skip_smtp, ignore = "SKIP_SMTP=1: needs the test SMTP server")]
                    #[cfg_attr(all(skip_postgres, not(skip_smtp)), ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
                    #[cfg_attr(all(skip_pgbouncer, not(any(skip_postgres, skip_smtp))), ignore = "SKIP_PGBOUNCER=1: needs PgBouncer")]);
            }
        )*
    };
    (settings: $settings:expr; postgres only; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                on_both_databases!(@postgres $settings, $name,
                    #[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]);
                on_both_databases!(@pgbouncer $settings, $name,
                    #[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
                    #[cfg_attr(all(skip_pgbouncer, not(skip_postgres)), ignore = "SKIP_PGBOUNCER=1: needs PgBouncer")]);
            }
        )*
    };
    (settings: $settings:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                on_both_databases!(@sqlite $settings, $name,);
                on_both_databases!(@postgres $settings, $name,
                    #[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]);
                on_both_databases!(@pgbouncer $settings, $name,
                    #[cfg_attr(skip_postgres, ignore = "SKIP_POSTGRES=1: needs PostgreSQL")]
                    #[cfg_attr(all(skip_pgbouncer, not(skip_postgres)), ignore = "SKIP_PGBOUNCER=1: needs PgBouncer")]);
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        on_both_databases!(settings: &[]; $($name),*);
    };
    (@sqlite $settings:expr, $name:ident, $(#[$ignore:meta])*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$ignore])*
        async fn sqlite() {
            super::$name($crate::helpers::TestApp::sqlite_with($settings).await).await;
        }
    };
    (@postgres $settings:expr, $name:ident, $(#[$ignore:meta])*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$ignore])*
        async fn postgres() {
            super::$name($crate::helpers::TestApp::postgres_with($settings).await).await;
        }
    };
    (@pgbouncer $settings:expr, $name:ident, $(#[$ignore:meta])*) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$ignore])*
        async fn pgbouncer() {
            super::$name($crate::helpers::TestApp::pgbouncer_with($settings).await).await;
        }
    };
}

/// A setting written `env:NAME` takes the value of the environment variable
/// NAME (such as the test command's localstripe URL); the test fails when it
/// is unset.
pub(crate) fn resolve(value: &str) -> String {
    match value.strip_prefix("env:") {
        Some(name) => crate::databases::Component::of_var(name).url(),
        None => value.to_owned(),
    }
}

/// A running server and a direct connection to its database (for setting
/// up states no API call can reach, such as an expired token).
pub struct TestApp {
    pub base_url: String,
    /// `http://…/metrics` on the server's metrics listener, for a test that
    /// sets `METRICS_LISTEN_ADDR`.
    pub metrics_url: Option<String>,
    /// SQL statements the server has run (see `AppState::sql_statements`).
    pub statements: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub db: DatabaseConnection,
    pub client: reqwest::Client,
    /// The database the server runs on, for a second server beside it.
    pub database_url: String,
    /// The worker id of the server's job worker.
    pub worker_id: String,
    /// The proxy the server's Stripe calls go through, for a setting
    /// written `proxy:NAME` (see [`crate::stripe_proxy`]).
    pub stripe_proxy: Option<crate::stripe_proxy::StripeProxy>,
    /// The configuration's own settings (such as the pooler's), for a
    /// second server beside this one.
    base_settings: Vec<(String, String)>,
    shutdown: api::shutdown::ShutdownHandle,
    server: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    _dir: Option<tempfile::TempDir>,
    /// Where mail goes for a test that sets no SMTP server.
    _mail_dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// The configuration's own settings (the pooler's, behind PgBouncer),
    /// for a server this one's database is shared with.
    pub fn base_settings(&self) -> &[(String, String)] {
        &self.base_settings
    }

    pub async fn sqlite_with(settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Self::start(url, Some(dir), settings).await
    }

    /// A server on a new PostgreSQL database (a copy of the migrated
    /// template); fails the test when PostgreSQL is not configured.
    pub async fn postgres_with(settings: &[(&str, &str)]) -> Self {
        let url = crate::databases::new_postgres_database().await;
        Self::start(url, None, settings).await
    }

    /// A server on a new PostgreSQL database reached through PgBouncer in
    /// transaction mode, as most deployments of many servers run; fails the
    /// test when PgBouncer is not configured. [`Self::db`] is a direct
    /// connection.
    pub async fn pgbouncer_with(settings: &[(&str, &str)]) -> Self {
        Self::pgbouncer_on(crate::databases::new_postgres_database().await, settings).await
    }

    /// A server on the PostgreSQL database at `direct`, reached through
    /// PgBouncer, as [`Self::pgbouncer_with`].
    pub async fn pgbouncer_on(direct: String, settings: &[(&str, &str)]) -> Self {
        let pooled = crate::databases::through_pgbouncer(&direct);
        Self::start_with(
            pooled,
            None,
            &[
                ("DATABASE_POOLER", "transaction"),
                ("DATABASE_DIRECT_URL", &direct),
            ],
            settings,
        )
        .await
    }

    async fn start(
        database_url: String,
        dir: Option<tempfile::TempDir>,
        settings: &[(&str, &str)],
    ) -> Self {
        Self::start_with(database_url, dir, &[], settings).await
    }

    /// `base` are the settings of the configuration, which a second server
    /// on the same database shares; `settings` those of the test.
    async fn start_with(
        database_url: String,
        dir: Option<tempfile::TempDir>,
        base: &[(&str, &str)],
        settings: &[(&str, &str)],
    ) -> Self {
        let base: Vec<(String, String)> = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env: HashMap<String, String> = [
            ("DATABASE_URL", database_url.as_str()),
            ("LISTEN_ADDR", "127.0.0.1:0"),
            ("AUTH_SECRET", "test-secret-test-secret-test-secret-0123"),
            ("DATABASE_MAX_CONNECTIONS", "5"),
            // Tests of many concurrent requests queue for those five
            // connections on a busy machine; the tests of faults set the
            // production default or less.
            ("DATABASE_ACQUIRE_TIMEOUT_MS", "10000"),
            // Every test signs people up and in from 127.0.0.1; the tests
            // of the limits set their own.
            ("SIGN_UP_ADDRESS_LIMIT", "1000000"),
            ("SIGN_IN_ADDRESS_LIMIT", "1000000"),
            // The stubs that play operators and integrators listen on
            // loopback; a test turns this off to see the guard at work.
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        // Mail, unless a test sends it to the SMTP server: files of its own.
        let mail_dir = tempfile::tempdir().expect("mail dir");
        env.insert("MAIL_DIR".to_owned(), mail_dir.path().display().to_string());
        env.extend(base.iter().cloned());
        let mut stripe_proxy = None;
        for (k, v) in settings {
            let value = match v.strip_prefix("proxy:") {
                // A proxy in front of the component NAME names.
                Some(name) => {
                    let proxy =
                        crate::stripe_proxy::StripeProxy::start(&resolve(&format!("env:{name}")))
                            .await;
                    let url = proxy.url();
                    stripe_proxy = Some(proxy);
                    url
                }
                None => resolve(v),
            };
            env.insert((*k).to_owned(), value);
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let config_direct_url = config.database_direct_url.clone();
        let database_url = config.database_url.clone();
        if std::env::var_os("TEST_LOG").is_some() {
            api::telemetry::init(config.log_format, config.database_pooler);
        }
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr().expect("bound address");
        let metrics_url = app
            .metrics_addr()
            .map(|a| format!("http://{}/metrics", a.expect("bound metrics address")));
        // Behind a transaction pooler the pool's writes outside a
        // transaction commit a moment after they return; the tests' own
        // go straight to PostgreSQL, and are there when they return.
        let db = match &config_direct_url {
            Some(url) => sea_orm::Database::connect(url)
                .await
                .expect("a direct connection to the test database"),
            None => (*app.state().db).clone(),
        };
        let statements = app.state().sql_statements.clone();
        let worker_id = app.state().worker_id.clone();
        let shutdown = app.shutdown_handle();
        let server = tokio::spawn(app.run_until_stopped());
        Self {
            base_url: format!("http://{addr}"),
            metrics_url,
            statements,
            db,
            client: reqwest::Client::new(),
            database_url,
            worker_id,
            stripe_proxy,
            base_settings: base,
            shutdown,
            server: std::sync::Mutex::new(Some(server)),
            _dir: dir,
            _mail_dir: mail_dir,
        }
    }

    /// A server on the database at `url` (such as a throwaway cluster).
    pub async fn on_database(url: String, settings: &[(&str, &str)]) -> Self {
        Self::start(url, None, settings).await
    }

    /// Shuts the server down as SIGTERM does, and waits until it has
    /// stopped (its worker too).
    pub async fn shut_down(&self) {
        self.shutdown.shut_down();
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            tokio::time::timeout(std::time::Duration::from_secs(60), server)
                .await
                .expect("the server stops within a minute")
                .expect("the server task did not panic")
                .expect("the server stopped cleanly");
        }
    }

    /// Another server process on the same database (PostgreSQL), as a
    /// second instance behind a load balancer would be.
    pub async fn second_server(&self, settings: &[(&str, &str)]) -> Self {
        let base: Vec<(&str, &str)> = self
            .base_settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Self::start_with(self.database_url.clone(), None, &base, settings).await
    }

    /// Waits until no job of `kind` waits or runs: all of them have done
    /// their work (or given up), so whatever they send has arrived.
    pub async fn jobs_settled(&self, kind: &str) {
        use entities::job;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        eventually(&format!("the {kind} jobs settle"), || async {
            let open = job::Entity::find()
                .filter(job::Column::Kind.eq(kind))
                .filter(
                    job::Column::Status.is_in([job::JobStatus::Pending, job::JobStatus::Running]),
                )
                .all(&self.db)
                .await
                .expect("reading the jobs");
            if open.is_empty() { Ok(()) } else { Err(open) }
        })
        .await;
    }

    /// SQL statements run so far.
    pub fn sql_count(&self) -> u64 {
        self.statements.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// POSTs one GraphQL operation and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request sent");
        res.json().await.expect("JSON response")
    }

    /// Like [`Self::gql`], but the operation must succeed; returns `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let res = self.gql(token, query, variables).await;
        assert!(res.get("errors").is_none(), "unexpected errors: {res:#}");
        res["data"].clone()
    }

    /// Signs up a person whose address is confirmed, as most tests need;
    /// returns their session token and user id. The confirmation is set in
    /// the database, a shortcut for setting up: the mail tests follow the
    /// real link (`accounts_mail.rs`).
    pub async fn sign_up(&self, email: &str) -> (String, String) {
        let (token, id) = self.sign_up_unconfirmed(email).await;
        self.confirm_in_database(&id).await;
        (token, id)
    }

    /// Marks the account's address confirmed, as following its link would.
    pub async fn confirm_in_database(&self, user_id: &str) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let id = uuid::Uuid::parse_str(user_id).expect("a user id");
        entities::user::Entity::update_many()
            .col_expr(
                entities::user::Column::EmailConfirmedAt,
                Expr::value(chrono::Utc::now()),
            )
            .filter(entities::user::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .expect("confirmed");
    }

    /// Signs up a person, their address not yet confirmed.
    pub async fn sign_up_unconfirmed(&self, email: &str) -> (String, String) {
        let data = self
            .ok(
                None,
                "mutation($i: SignUpInput!) { signUp(input: $i) { token user { id } } }",
                json!({ "i": { "email": email, "password": PASSWORD, "displayName": email.split('@').next() } }),
            )
            .await;
        (
            data["signUp"]["token"].as_str().expect("token").to_owned(),
            data["signUp"]["user"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        )
    }

    /// Registers a parent entity with `token`'s owner as steward; returns its id.
    pub async fn register_parent(&self, token: &str, registration_number: &str) -> String {
        self.register_parent_with(token, registration_number, "MANUAL")
            .await
    }

    /// Grants `role` at `parent` to `email` as `steward`, and accepts the
    /// invitation as its invitee (`invitee` is their token); returns the
    /// role's id.
    pub async fn grant_role(
        &self,
        steward: &str,
        parent: &str,
        invitee: &str,
        email: &str,
        role: &str,
    ) -> String {
        let granted = self
            .ok(
                Some(steward),
                "mutation($i: GrantParentEntityRoleInput!) { grantParentEntityRole(input: $i) { id status } }",
                json!({ "i": { "parentEntityId": parent, "email": email, "role": role } }),
            )
            .await;
        assert_eq!(granted["grantParentEntityRole"]["status"], "PENDING");
        let id = granted["grantParentEntityRole"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let accepted = self
            .ok(
                Some(invitee),
                "mutation($id: ID!) { acceptParentEntityRole(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(accepted["acceptParentEntityRole"]["status"], "ACTIVE");
        id
    }

    pub async fn register_parent_with(
        &self,
        token: &str,
        registration_number: &str,
        policy: &str,
    ) -> String {
        let data = self
            .ok(
                Some(token),
                "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                json!({ "i": {
                    "name": "Cooperativa Paraguas",
                    "jurisdiction": "ES",
                    "legalForm": "sociedad cooperativa",
                    "registrationNumber": registration_number,
                    "approvalPolicy": policy,
                } }),
            )
            .await;
        data["registerParentEntity"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }
}

/// The `extensions.code` of the first error, or a panic showing the response.
pub fn error_code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {res:#}"))
}

/// The field paths of a `VALIDATION` error.
pub fn error_paths(res: &Value) -> Vec<String> {
    res["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("expected field errors, got {res:#}"))
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// How long background work (jobs, webhooks, Stripe's notifications) may
/// take before a test gives up: generous, because CI machines are busy.
const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(20);

/// Asks `probe` every 20 ms until it answers `Ok`, and returns that. After
/// [`EVENTUALLY`] it panics with `what` and the last `Err` it saw.
pub async fn eventually<T, E, F, Fut>(what: &str, mut probe: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = std::time::Instant::now() + EVENTUALLY;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}; last seen: {last:#?}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}
