//! What an operator's Prometheus scrapes from one server (`METRICS_LISTEN_ADDR`,
//! see the README's Metrics section, where every name here is documented:
//! the names and labels are a contract with dashboards and alert rules).
//!
//! Each server owns its registry, not the process-wide default one, so the
//! servers a test process starts count apart. Every label takes values from
//! a closed set, or from a set bounded here (operation names), since a
//! client that could choose label values could make the server keep a
//! series for each.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sea_orm::{DatabaseConnection, DbBackend};

/// The content type of the text format served at `/metrics`.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Distinct client-chosen operation names a server labels by name; later
/// new names are counted as [`OTHER`].
pub const MAX_OPERATION_NAMES: usize = 200;
/// A longer operation name is counted as [`OTHER`]: 200 names of a megabyte
/// each would be a lot to keep.
pub const MAX_OPERATION_NAME_LEN: usize = 100;
/// The label of operations past the bound.
pub const OTHER: &str = "_other";
/// The label of a document that does not parse or selects no operation.
pub const INVALID: &str = "_invalid";

/// GraphQL operations take milliseconds to the request timeout (30 s).
const OPERATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Statements take well under a millisecond to the statement timeout.
const STATEMENT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The handle every part of the server counts through; clones share it.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    graphql_operations: IntCounterVec,
    graphql_operation_seconds: HistogramVec,
    db_statement_seconds: Histogram,
    job_runs: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    stripe_calls: IntCounterVec,
    websocket_connections: IntGauge,
    subscriptions: IntGauge,
    operation_names: OperationNames,
}

/// How a job run ended, as the worker recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded,
    /// Failed, to run again after its backoff.
    Retried,
    /// Failed for the last time (or for good).
    Dead,
    /// Cut off by shutdown and given back to the queue.
    HandedBack,
}

impl JobOutcome {
    const ALL: [Self; 4] = [Self::Succeeded, Self::Retried, Self::Dead, Self::HandedBack];

    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retried => "retried",
            Self::Dead => "dead",
            Self::HandedBack => "handed_back",
        }
    }
}

/// How one attempt at a webhook delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// No 2xx answer (an error status, a redirect, a timeout, no
    /// connection); another attempt follows.
    Retried,
    /// As `Retried`, but it was the last attempt: the delivery failed.
    Dead,
    /// The URL or its addresses are refused by policy: no connection was
    /// made, and the delivery failed for good.
    Refused,
}

impl DeliveryOutcome {
    const ALL: [Self; 4] = [Self::Delivered, Self::Retried, Self::Dead, Self::Refused];

    fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retried => "retried",
            Self::Dead => "dead",
            Self::Refused => "refused",
        }
    }
}

/// How one call to Stripe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StripeOutcome {
    Ok,
    /// Stripe answered and said no (a decline, an invalid request, an
    /// unknown object, a reused idempotency key).
    Refused,
    /// Stripe was not reached, or asked us to slow down: nothing was done.
    Unreachable,
    /// No usable answer (a timeout, a 5xx) or a failure on our side.
    Error,
}

impl StripeOutcome {
    const ALL: [Self; 4] = [Self::Ok, Self::Refused, Self::Unreachable, Self::Error];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
            Self::Error => "error",
        }
    }
}

/// What the metrics know of a GraphQL operation before its label is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// The name the client gave the operation.
    Named(String),
    /// No name: its type (`query`, `mutation`, `subscription`) and its
    /// first root field, which the caller checked is one of the schema's.
    Unnamed {
        ty: &'static str,
        root_field: String,
    },
    /// The document does not parse, selects no operation, or starts with a
    /// root field the schema does not have.
    Invalid,
}

/// Read at scrape time: the connection pool and the queue.
pub struct Scrape {
    pub pool: PoolStats,
    /// `None` when the queue could not be read (the scrape still answers,
    /// without the queue's gauges).
    pub jobs: Option<JobsDue>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub idle: u64,
    pub in_use: u64,
    pub max: u64,
}

/// Pending jobs whose time has come.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobsDue {
    /// Each kind of the queue with how many are due (kinds with none too).
    pub by_kind: Vec<(String, i64)>,
    /// How long the longest-waiting due job has waited; 0 when none is due.
    pub oldest_due_seconds: f64,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let graphql_operations = IntCounterVec::new(
            Opts::new(
                "pools_graphql_operations_total",
                "GraphQL operations answered over HTTP, by operation and outcome code",
            ),
            &["operation", "code"],
        )?;
        let graphql_operation_seconds = HistogramVec::new(
            HistogramOpts::new(
                "pools_graphql_operation_seconds",
                "Time to answer one GraphQL operation over HTTP",
            )
            .buckets(OPERATION_BUCKETS.to_vec()),
            &["operation"],
        )?;
        let db_statement_seconds = Histogram::with_opts(
            HistogramOpts::new("pools_db_statement_seconds", "Time per SQL statement")
                .buckets(STATEMENT_BUCKETS.to_vec()),
        )?;
        let job_runs = IntCounterVec::new(
            Opts::new("pools_job_runs_total", "Job runs by kind and outcome"),
            &["kind", "outcome"],
        )?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "pools_webhook_deliveries_total",
                "Webhook delivery attempts by outcome",
            ),
            &["outcome"],
        )?;
        let stripe_calls = IntCounterVec::new(
            Opts::new("pools_stripe_calls_total", "Calls to Stripe by outcome"),
            &["outcome"],
        )?;
        let websocket_connections =
            IntGauge::new("pools_websocket_connections", "Open WebSocket connections")?;
        let subscriptions = IntGauge::new("pools_subscriptions", "Live GraphQL subscriptions")?;
        registry.register(Box::new(graphql_operations.clone()))?;
        registry.register(Box::new(graphql_operation_seconds.clone()))?;
        registry.register(Box::new(db_statement_seconds.clone()))?;
        registry.register(Box::new(job_runs.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(stripe_calls.clone()))?;
        registry.register(Box::new(websocket_connections.clone()))?;
        registry.register(Box::new(subscriptions.clone()))?;
        // Known outcomes start at 0, so a rate over them exists before the
        // first one happens.
        for outcome in DeliveryOutcome::ALL {
            webhook_deliveries.with_label_values(&[outcome.as_str()]);
        }
        for outcome in StripeOutcome::ALL {
            stripe_calls.with_label_values(&[outcome.as_str()]);
        }
        Ok(Self(Arc::new(Inner {
            registry,
            graphql_operations,
            graphql_operation_seconds,
            db_statement_seconds,
            job_runs,
            webhook_deliveries,
            stripe_calls,
            websocket_connections,
            subscriptions,
            operation_names: OperationNames::default(),
        })))
    }

    /// The `operation` label of an operation, bounded (see [`OperationNames`]).
    pub fn operation_label(&self, operation: &Operation) -> String {
        match operation {
            Operation::Named(name) => self.0.operation_names.label(name),
            Operation::Unnamed { ty, root_field } => format!("{ty}:{root_field}"),
            Operation::Invalid => INVALID.to_owned(),
        }
    }

    /// One GraphQL operation answered: `code` is `OK` or its first error's.
    pub fn graphql_operation(&self, label: &str, code: &str, elapsed: Duration) {
        self.0
            .graphql_operations
            .with_label_values(&[label, code])
            .inc();
        self.0
            .graphql_operation_seconds
            .with_label_values(&[label])
            .observe(elapsed.as_secs_f64());
    }

    pub fn db_statement(&self, elapsed: Duration) {
        self.0.db_statement_seconds.observe(elapsed.as_secs_f64());
    }

    /// Every outcome of these kinds of job starts at 0 (see `new`).
    pub fn job_kinds<'k>(&self, kinds: impl IntoIterator<Item = &'k str>) {
        for kind in kinds {
            for outcome in JobOutcome::ALL {
                self.0.job_runs.with_label_values(&[kind, outcome.as_str()]);
            }
        }
    }

    /// `kind` is one of the queue's kinds, or [`OTHER`].
    pub fn job_run(&self, kind: &str, outcome: JobOutcome) {
        self.0
            .job_runs
            .with_label_values(&[kind, outcome.as_str()])
            .inc();
    }

    pub fn webhook_delivery(&self, outcome: DeliveryOutcome) {
        self.0
            .webhook_deliveries
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    pub fn stripe_call(&self, outcome: StripeOutcome) {
        self.0
            .stripe_calls
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// Counts an open WebSocket connection for as long as the guard lives.
    pub fn websocket_connection(&self) -> Held {
        Held::new(self.0.websocket_connections.clone())
    }

    /// The gauge of live subscriptions, for the slots that count them.
    pub fn subscriptions(&self) -> IntGauge {
        self.0.subscriptions.clone()
    }

    /// Everything, in the text format: what was counted, and the gauges
    /// read for this scrape.
    pub fn render(&self, scrape: &Scrape) -> Result<String, prometheus::Error> {
        let mut families = self.0.registry.gather();
        families.extend(scrape_gauges(scrape)?.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut text = String::new();
        TextEncoder::new().encode_utf8(&families, &mut text)?;
        Ok(text)
    }
}

/// The gauges read at scrape time, in a registry of their own for this
/// scrape: one the queue could not be read for is left out rather than
/// shown with stale values.
fn scrape_gauges(scrape: &Scrape) -> Result<Registry, prometheus::Error> {
    let registry = Registry::new();
    let connections = IntGaugeVec::new(
        Opts::new(
            "pools_db_pool_connections",
            "Open database connections of the pool, idle or in use",
        ),
        &["state"],
    )?;
    connections
        .with_label_values(&["idle"])
        .set(gauge(scrape.pool.idle));
    connections
        .with_label_values(&["in_use"])
        .set(gauge(scrape.pool.in_use));
    let max = IntGauge::new(
        "pools_db_pool_max_connections",
        "The most connections the pool opens (DATABASE_MAX_CONNECTIONS)",
    )?;
    max.set(gauge(scrape.pool.max));
    registry.register(Box::new(connections))?;
    registry.register(Box::new(max))?;
    if let Some(jobs) = &scrape.jobs {
        let due = IntGaugeVec::new(
            Opts::new(
                "pools_jobs_due",
                "Pending jobs whose time has come, by kind",
            ),
            &["kind"],
        )?;
        for (kind, count) in &jobs.by_kind {
            due.with_label_values(&[kind.as_str()]).set(*count);
        }
        let oldest = prometheus::Gauge::new(
            "pools_jobs_oldest_due_seconds",
            "How long the longest-waiting due job has waited; 0 when none is due",
        )?;
        oldest.set(jobs.oldest_due_seconds);
        registry.register(Box::new(due))?;
        registry.register(Box::new(oldest))?;
    }
    Ok(registry)
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The pool's connections now. sqlx does not say how long acquiring one
/// waited; `in_use` at `max` is the sign that requests queue for one.
pub fn pool_stats(db: &DatabaseConnection) -> PoolStats {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolStats {
        let open = u64::from(pool.size());
        let idle = pool.num_idle() as u64;
        PoolStats {
            idle,
            in_use: open.saturating_sub(idle),
            max: u64::from(pool.options().get_max_connections()),
        }
    }
    match db.get_database_backend() {
        DbBackend::Postgres => of(db.get_postgres_connection_pool()),
        DbBackend::Sqlite => of(db.get_sqlite_connection_pool()),
        _ => PoolStats::default(),
    }
}

/// Adds one to a gauge, and takes it off again when dropped.
pub struct Held(IntGauge);

impl Held {
    pub fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The operation names this server labels by name: the first
/// [`MAX_OPERATION_NAMES`] distinct ones it sees (clients send the same few
/// names over and over, so these are theirs). A hostile client could fill
/// the set with names of its own, but never grow it: later new names, and
/// overlong ones, are [`OTHER`]. A client's name that is one of the labels
/// this module gives ([`OTHER`], [`INVALID`]) is [`OTHER`] too.
#[derive(Default)]
struct OperationNames(Mutex<HashSet<String>>);

impl OperationNames {
    fn label(&self, name: &str) -> String {
        if name.len() > MAX_OPERATION_NAME_LEN || name == OTHER || name == INVALID {
            return OTHER.to_owned();
        }
        // A panic while holding the lock cannot leave the set half-changed.
        let mut names = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if names.contains(name) {
            return name.to_owned();
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER.to_owned()
    }
}

/// For the tests: the value of the sample `name{labels}` in `text`.
#[cfg(test)]
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Operation {
        Operation::Named(name.to_owned())
    }

    #[test]
    fn the_first_names_are_kept_and_later_ones_are_other() {
        let metrics = Metrics::new().unwrap();
        for n in 0..MAX_OPERATION_NAMES {
            assert_eq!(
                metrics.operation_label(&named(&format!("Op{n}"))),
                format!("Op{n}")
            );
        }
        assert_eq!(metrics.operation_label(&named("OneTooMany")), OTHER);
        // A name seen before keeps its label.
        assert_eq!(metrics.operation_label(&named("Op7")), "Op7");
        assert_eq!(metrics.operation_label(&named("OneTooMany")), OTHER);
    }

    #[test]
    fn a_name_seen_again_takes_no_second_place() {
        let metrics = Metrics::new().unwrap();
        for _ in 0..MAX_OPERATION_NAMES + 5 {
            assert_eq!(metrics.operation_label(&named("Same")), "Same");
        }
        assert_eq!(metrics.operation_label(&named("Other")), "Other");
    }

    #[test]
    fn overlong_and_reserved_names_are_other() {
        let metrics = Metrics::new().unwrap();
        let long = "A".repeat(MAX_OPERATION_NAME_LEN + 1);
        assert_eq!(metrics.operation_label(&named(&long)), OTHER);
        assert_eq!(metrics.operation_label(&named(OTHER)), OTHER);
        assert_eq!(metrics.operation_label(&named(INVALID)), OTHER);
        let longest = "A".repeat(MAX_OPERATION_NAME_LEN);
        assert_eq!(metrics.operation_label(&named(&longest)), longest);
    }

    #[test]
    fn unnamed_and_invalid_operations_take_no_name_slot() {
        let metrics = Metrics::new().unwrap();
        let unnamed = Operation::Unnamed {
            ty: "mutation",
            root_field: "signIn".into(),
        };
        assert_eq!(metrics.operation_label(&unnamed), "mutation:signIn");
        assert_eq!(metrics.operation_label(&Operation::Invalid), INVALID);
        assert!(metrics.0.operation_names.0.lock().unwrap().is_empty());
    }

    #[test]
    fn servers_count_apart() {
        let one = Metrics::new().unwrap();
        let two = Metrics::new().unwrap();
        one.graphql_operation("Me", "OK", Duration::from_millis(3));
        let scrape = Scrape {
            pool: PoolStats::default(),
            jobs: None,
        };
        let series = r#"pools_graphql_operations_total{code="OK",operation="Me"}"#;
        assert_eq!(sample(&one.render(&scrape).unwrap(), series), Some(1.0));
        assert_eq!(sample(&two.render(&scrape).unwrap(), series), None);
    }

    #[test]
    fn the_scrape_shows_what_was_counted_and_read() {
        let metrics = Metrics::new().unwrap();
        metrics.job_run("send_mail", JobOutcome::Retried);
        metrics.job_run("send_mail", JobOutcome::Retried);
        metrics.webhook_delivery(DeliveryOutcome::Refused);
        metrics.stripe_call(StripeOutcome::Unreachable);
        metrics.db_statement(Duration::from_micros(300));
        let subscriptions = Held::new(metrics.subscriptions());
        let socket = metrics.websocket_connection();
        let scrape = Scrape {
            pool: PoolStats {
                idle: 2,
                in_use: 1,
                max: 5,
            },
            jobs: Some(JobsDue {
                by_kind: vec![("send_mail".into(), 3), ("close_proposal".into(), 0)],
                oldest_due_seconds: 12.5,
            }),
        };
        let text = metrics.render(&scrape).unwrap();
        for (series, value) in [
            (
                r#"pools_job_runs_total{kind="send_mail",outcome="retried"}"#,
                2.0,
            ),
            (r#"pools_webhook_deliveries_total{outcome="refused"}"#, 1.0),
            (r#"pools_stripe_calls_total{outcome="unreachable"}"#, 1.0),
            ("pools_db_statement_seconds_count", 1.0),
            (r#"pools_db_statement_seconds_bucket{le="0.0005"}"#, 1.0),
            ("pools_subscriptions", 1.0),
            ("pools_websocket_connections", 1.0),
            (r#"pools_db_pool_connections{state="idle"}"#, 2.0),
            (r#"pools_db_pool_connections{state="in_use"}"#, 1.0),
            ("pools_db_pool_max_connections", 5.0),
            (r#"pools_jobs_due{kind="send_mail"}"#, 3.0),
            (r#"pools_jobs_due{kind="close_proposal"}"#, 0.0),
            ("pools_jobs_oldest_due_seconds", 12.5),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
        drop((subscriptions, socket));
        let text = metrics.render(&scrape).unwrap();
        assert_eq!(sample(&text, "pools_subscriptions"), Some(0.0));
        assert_eq!(sample(&text, "pools_websocket_connections"), Some(0.0));
    }

    #[test]
    fn known_outcomes_start_at_zero() {
        let metrics = Metrics::new().unwrap();
        metrics.job_kinds(["send_mail"]);
        let text = metrics
            .render(&Scrape {
                pool: PoolStats::default(),
                jobs: None,
            })
            .unwrap();
        for series in [
            r#"pools_job_runs_total{kind="send_mail",outcome="handed_back"}"#,
            r#"pools_webhook_deliveries_total{outcome="dead"}"#,
            r#"pools_stripe_calls_total{outcome="ok"}"#,
        ] {
            assert_eq!(sample(&text, series), Some(0.0), "{series}");
        }
    }

    #[test]
    fn a_queue_that_could_not_be_read_is_left_out() {
        let metrics = Metrics::new().unwrap();
        let text = metrics
            .render(&Scrape {
                pool: PoolStats::default(),
                jobs: None,
            })
            .unwrap();
        assert!(!text.contains("pools_jobs_"), "{text}");
        assert_eq!(sample(&text, "pools_db_pool_max_connections"), Some(0.0));
    }
}
