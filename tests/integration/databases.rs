//! What the tests need from outside their process, PostgreSQL (directly
//! and through PgBouncer), localstripe, the mail server and a Python for
//! the pack verifier, and the PostgreSQL databases they run on.
//!
//! A test never passes by skipping. When what it needs is missing, it fails,
//! saying what is missing and how to provide it. A developer who means to
//! run without it sets `SKIP_POSTGRES=1`, `SKIP_PGBOUNCER=1` or
//! `SKIP_STRIPE=1` (never honoured under `CI=true`): `build.rs` then builds
//! the tests that need it `#[ignore]`d, so they are counted as ignored
//! rather than passed.

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    Database,
    sqlx::{self, AssertSqlSafe, Connection, PgConnection},
};
use uuid::Uuid;

/// Something a test needs from outside its process, found through an
/// environment variable.
pub struct Component {
    name: &'static str,
    /// The environment variable holding its URL.
    var: &'static str,
    /// How to provide it, besides the test command.
    how: &'static str,
    /// The variable that opts out of the tests needing it.
    opt_out: &'static str,
}

pub const POSTGRES: Component = Component {
    name: "PostgreSQL",
    var: "TEST_POSTGRES_URL",
    how: "or set TEST_POSTGRES_URL=postgres://user@host:port to a server where that user may \
          create databases",
    opt_out: "SKIP_POSTGRES",
};

pub const STRIPE: Component = Component {
    name: "localstripe (a fake Stripe)",
    var: "TEST_STRIPE_URL",
    how: "or start localstripe (scripts/run_localstripe.py PORT) and set \
          TEST_STRIPE_URL=http://127.0.0.1:PORT",
    opt_out: "SKIP_STRIPE",
};

/// The SMTP side of the test mail server (aiosmtpd).
pub const SMTP: Component = Component {
    name: "an SMTP server (aiosmtpd)",
    var: "TEST_SMTP_URL",
    how: "or start scripts/run_smtp.py SMTP_PORT HTTP_PORT and set \
          TEST_SMTP_URL=smtp://127.0.0.1:SMTP_PORT and TEST_MAILBOX_URL=http://127.0.0.1:HTTP_PORT",
    opt_out: "SKIP_SMTP",
};

/// PgBouncer in transaction mode in front of [`POSTGRES`]'s server.
pub const PGBOUNCER: Component = Component {
    name: "PgBouncer in transaction mode",
    var: "TEST_PGBOUNCER_URL",
    how: "or start PgBouncer (pool_mode = transaction, trust auth) in front of TEST_POSTGRES_URL's \
          server and set TEST_PGBOUNCER_URL=postgres://user@127.0.0.1:PORT",
    opt_out: "SKIP_PGBOUNCER",
};

/// The HTTP side of the test mail server, where tests read what arrived.
pub const MAILBOX: Component = Component {
    var: "TEST_MAILBOX_URL",
    ..SMTP
};

impl Component {
    /// The component for the environment variable `var`, as an `env:`
    /// test setting names it.
    pub fn of_var(var: &str) -> &'static Self {
        [&POSTGRES, &PGBOUNCER, &STRIPE, &SMTP, &MAILBOX]
            .into_iter()
            .find(|c| c.var == var)
            .unwrap_or_else(|| panic!("no component is read from {var}: add one in databases.rs"))
    }

    /// Its URL; fails the test when the variable is unset.
    pub fn url(&self) -> String {
        match std::env::var(self.var) {
            Ok(url) if !url.is_empty() => url,
            _ => self.missing(&format!("{} is unset", self.var)),
        }
    }

    /// Fails the test: `problem` says what is wrong, the rest how to mend it.
    pub fn missing(&self, problem: &str) -> ! {
        panic!(
            "this test needs {}, and {problem}. Run the README's test command, ./scripts/test, \
             which provides it, {}. To run without it, set {}=1: the tests that need it are then \
             built as ignored (not under CI=true).",
            self.name, self.how, self.opt_out
        )
    }
}

/// PostgreSQL's URL without a database, such as `postgres://postgres@host:5432`.
fn postgres_base() -> String {
    POSTGRES.url().trim_end_matches('/').to_owned()
}

/// A connection to the `postgres` maintenance database, for creating others.
async fn admin_connection(base: &str) -> PgConnection {
    PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap_or_else(|e| POSTGRES.missing(&format!("{base} does not answer: {e}")))
}

async fn run(admin: &mut PgConnection, sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql.clone()))
        .execute(admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The migrated template, once per test process.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// A new database for one test, `t_<uuid>`: a copy of the migrated template,
/// so no test waits for the migrations. Returns its URL. The test command
/// drops the `t_…` databases of earlier runs.
pub async fn new_postgres_database() -> String {
    let base = postgres_base();
    let template = TEMPLATE.get_or_init(|| migrated_template(&base)).await;
    let name = format!("t_{}", Uuid::now_v7().simple());
    let mut admin = admin_connection(&base).await;
    run(
        &mut admin,
        format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
    )
    .await;
    admin.close().await.ok();
    format!("{base}/{name}")
}

/// The database at `direct` (a URL of [`new_postgres_database`]) as
/// reached through PgBouncer.
pub fn through_pgbouncer(direct: &str) -> String {
    let name = direct.rsplit('/').next().expect("a database name");
    format!("{}/{name}", PGBOUNCER.url().trim_end_matches('/'))
}

/// An empty database (no migrations), for the tests of the migrations.
pub async fn empty_postgres_database() -> String {
    let base = postgres_base();
    let name = format!("t_{}", Uuid::now_v7().simple());
    let mut admin = admin_connection(&base).await;
    run(&mut admin, format!("CREATE DATABASE \"{name}\"")).await;
    admin.close().await.ok();
    format!("{base}/{name}")
}

/// The name of the template database holding the current migrations,
/// which this makes if it does not exist yet.
///
/// Its name carries a hash of the migrations (see `build.rs`), so a run
/// with other migrations, such as another branch's, makes and uses its own.
/// Test processes make it under an advisory lock, one at a time; the
/// others find it made. It is marked a template only once fully migrated,
/// so one left half-made by a run that stopped is made again.
async fn migrated_template(base: &str) -> String {
    let name = format!("pools_template_{}", env!("MIGRATIONS_HASH"));
    let mut admin = admin_connection(base).await;
    // Held until unlocked, or until this connection ends (a test that
    // panics here releases it too).
    run(
        &mut admin,
        "SELECT pg_advisory_lock(hashtext('pools test template'))".to_owned(),
    )
    .await;
    let complete: Option<bool> =
        sqlx::query_scalar("SELECT datistemplate FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut admin)
            .await
            .expect("reading pg_database");
    if complete != Some(true) {
        if complete.is_some() {
            run(&mut admin, format!("DROP DATABASE \"{name}\"")).await;
        }
        run(&mut admin, format!("CREATE DATABASE \"{name}\"")).await;
        let db = Database::connect(format!("{base}/{name}"))
            .await
            .expect("connecting to the new template");
        Migrator::up(&db, None)
            .await
            .expect("migrating the template");
        db.close().await.expect("closing the template's connection");
        // Nobody may connect to it from now on: PostgreSQL copies a
        // template only while no one is connected.
        run(
            &mut admin,
            format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"),
        )
        .await;
    }
    run(
        &mut admin,
        "SELECT pg_advisory_unlock(hashtext('pools test template'))".to_owned(),
    )
    .await;
    admin.close().await.ok();
    name
}

/// The Python that runs `scripts/verify_pack.py` as a third party would:
/// `TEST_PYTHON` (the test command sets it to its `.venv`, where it installs
/// `cryptography`), else the project's `.venv` if there is one, else
/// `python3`. Fails the test when that Python cannot verify Ed25519.
pub fn pack_verifier_python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let python = match std::env::var("TEST_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ if std::path::Path::new(venv).exists() => venv.to_owned(),
        _ => "python3".to_owned(),
    };
    let ready = std::process::Command::new(&python)
        .args([
            "-c",
            "import cryptography.hazmat.primitives.asymmetric.ed25519",
        ])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ready,
        "this test runs scripts/verify_pack.py, which needs Python 3 with the `cryptography` \
         package, and {python} has none. Run the README's test command, ./scripts/test, which \
         installs it into .venv, or set TEST_PYTHON to a Python that has it (python3 -m venv \
         .venv && .venv/bin/pip install cryptography)."
    );
    python
}
