//! Traces over OTLP: the server, run as a process of its own with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a receiver in the test, exports
//! a span per request, named after its operation, under the caller's
//! `traceparent`, with its SQL statements as children; a webhook the
//! request causes is delivered in a job span under that request, whose
//! POST is a span of its own and carries the trace to the receiver.
//!
//! A process rather than a server in the test's own process: the global
//! subscriber and the exporter are the process's, installed from its
//! environment as `api serve` installs them, and exiting is what exports
//! the last spans.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::any_value,
    trace::v1::{Span, span::SpanKind},
};
use prost::Message;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    helpers::{TestApp, eventually},
    pools::{PoolWorld, TWO_GROUPS},
    stub::Stub,
};

on_both_databases!(requests_jobs_and_deliveries_are_traced);

/// The secret the test servers run with (see `TestApp::start`): the traced
/// server takes over their database and the sessions in it.
const AUTH_SECRET: &str = "test-secret-test-secret-test-secret-0123";

async fn requests_jobs_and_deliveries_are_traced(app: TestApp) {
    let p = PoolWorld::new(app, TWO_GROUPS()).await;
    let receiver = Stub::start().await;
    p.pool_endpoint(&receiver.url, &["member.joined"]).await;
    let (ann, _) = p.app().sign_up("ann@example.org").await;
    // The traced server takes over: one worker on the queue, its own.
    p.app().shut_down().await;
    let collector = Collector::start().await;
    let server = TracedServer::start(
        &p.app().database_url,
        p.app().base_settings(),
        &collector.url,
    )
    .await;

    // A query under the caller's trace.
    let (trace, caller) = (hex_id(16), hex_id(8));
    let res = server
        .post(
            &p.w.founder,
            &format!("00-{trace}-{caller}-01"),
            json!({ "query": "query TracedViewer { me { id email } }", "operationName": "TracedViewer" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");

    let request = collector
        .wait_for("the request's span", |spans| {
            spans
                .iter()
                .find(|s| attribute(s, "graphql.operation.name").as_deref() == Some("TracedViewer"))
                .cloned()
        })
        .await;
    assert_eq!(request.name, "TracedViewer");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex::encode(&request.trace_id), trace, "the caller's trace");
    assert_eq!(
        hex::encode(&request.parent_span_id),
        caller,
        "under the caller's span"
    );
    assert_eq!(attribute(&request, "request_id"), Some(request_id));
    assert_eq!(attribute(&request, "outcome").as_deref(), Some("OK"));
    assert_eq!(
        attribute(&request, "http.response.status_code").as_deref(),
        Some("200")
    );
    let statements = collector
        .wait_for("the request's SQL statements", |spans| {
            let children = children_of(spans, &request);
            (!children.is_empty()).then_some(children)
        })
        .await;
    for statement in &statements {
        assert_eq!(
            statement.kind,
            SpanKind::Client as i32,
            "{}",
            statement.name
        );
        assert!(attribute(statement, "db.system").is_some(), "{statement:?}");
    }
    assert!(
        statements
            .iter()
            .any(|s| attribute(s, "db.statement").is_some_and(|sql| sql.contains("SELECT"))),
        "the statements' text: {statements:#?}"
    );

    // A mutation that raises a webhook event, under another trace.
    let (trace, caller) = (hex_id(16), hex_id(8));
    let res = server
        .post(
            &ann,
            &format!("00-{trace}-{caller}-01"),
            json!({
                "query": "mutation JoinPool($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { id } }",
                "operationName": "JoinPool",
                "variables": { "i": { "poolId": p.pool, "stakeholderGroupId": p.groups["users"], "message": "Hello" } },
            }),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");
    let delivered = receiver.wait_for(1, |_| true).await;
    let traceparent = delivered[0]
        .headers
        .get("traceparent")
        .unwrap_or_else(|| panic!("the webhook carries the trace: {:?}", delivered[0].headers));
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[1], trace, "the webhook is in the request's trace");

    let outbound = collector
        .wait_for("the webhook POST's span", |spans| {
            spans
                .iter()
                .find(|s| hex::encode(&s.span_id) == parts[2])
                .cloned()
        })
        .await;
    assert_eq!(outbound.kind, SpanKind::Client as i32);
    assert_eq!(outbound.name, "POST");
    assert_eq!(hex::encode(&outbound.trace_id), trace);
    assert_eq!(
        attribute(&outbound, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attribute(&outbound, "http.response.status_code").as_deref(),
        Some("200")
    );
    let delivery = collector
        .wait_for("the delivery job's span", |spans| {
            parent_of(spans, &outbound)
        })
        .await;
    assert_eq!(delivery.name, "deliver_webhook");
    assert_eq!(delivery.kind, SpanKind::Consumer as i32);
    assert_eq!(hex::encode(&delivery.trace_id), trace);
    let request = collector
        .wait_for("the span of the request that queued it", |spans| {
            parent_of(spans, &delivery)
        })
        .await;
    assert_eq!(request.name, "JoinPool");
    assert_eq!(hex::encode(&request.parent_span_id), caller);
    collector
        .wait_for("the delivery job's SQL statements", |spans| {
            let children = children_of(spans, &delivery);
            children
                .iter()
                .any(|s| attribute(s, "db.system").is_some())
                .then_some(())
        })
        .await;

    // Never a parameter: no span holds the people's addresses or tokens.
    let spans = collector.spans();
    for secret in [p.w.founder.as_str(), ann.as_str(), "ann@example.org"] {
        for span in &spans {
            for kv in &span.attributes {
                let value = format!("{:?}", kv.value);
                assert!(
                    !value.contains(secret),
                    "{} holds {secret}: {span:?}",
                    kv.key
                );
            }
        }
    }
    server.stop().await;
}

fn hex_id(bytes: usize) -> String {
    let id = uuid::Uuid::new_v4();
    hex::encode(&id.as_bytes()[..bytes])
}

/// An attribute's value, as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match value {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

fn children_of(spans: &[Span], parent: &Span) -> Vec<Span> {
    spans
        .iter()
        .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
        .cloned()
        .collect()
}

fn parent_of(spans: &[Span], child: &Span) -> Option<Span> {
    spans
        .iter()
        .find(|s| s.trace_id == child.trace_id && s.span_id == child.parent_span_id)
        .cloned()
}

/// Each span received, with the service that sent it.
type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP receiver: keeps every span posted to `/v1/traces`.
struct Collector {
    url: String,
    spans: Received,
}

impl Collector {
    async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, spans }
    }

    fn spans(&self) -> Vec<Span> {
        let received = self.spans.lock().unwrap();
        for (service, span) in received.iter() {
            assert_eq!(
                service, "pools-api",
                "the default service name, for {}",
                span.name
            );
        }
        received.iter().map(|(_, span)| span.clone()).collect()
    }

    /// Waits until `find` finds what it looks for in the spans received.
    async fn wait_for<T>(&self, what: &str, find: impl Fn(&[Span]) -> Option<T>) -> T {
        eventually(what, || {
            let spans = self.spans();
            let found = find(&spans).ok_or_else(|| {
                spans
                    .iter()
                    .map(|s| format!("{} {}", hex::encode(&s.span_id), s.name))
                    .collect::<Vec<_>>()
            });
            std::future::ready(found)
        })
        .await
    }
}

async fn receive(State(spans): State<Received>, body: Bytes) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(name) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            kept.extend(scope.spans.into_iter().map(|span| (service.clone(), span)));
        }
    }
    StatusCode::OK
}

/// The server binary, run with traces on, on the database of a stopped
/// test server.
struct TracedServer {
    child: tokio::process::Child,
    base_url: String,
    client: reqwest::Client,
    log: Arc<Mutex<Vec<String>>>,
    _mail_dir: tempfile::TempDir,
}

impl TracedServer {
    /// `base`: the configuration's own settings, such as the pooler's.
    async fn start(database_url: &str, base: &[(String, String)], collector: &str) -> Self {
        let mail_dir = tempfile::tempdir().unwrap();
        let mut settings: HashMap<&str, &str> = HashMap::from([
            ("DATABASE_URL", database_url),
            ("LISTEN_ADDR", "127.0.0.1:0"),
            ("AUTH_SECRET", AUTH_SECRET),
            ("DATABASE_MAX_CONNECTIONS", "5"),
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
            ("MAIL_DIR", mail_dir.path().to_str().unwrap()),
            ("RUST_LOG", "info"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
            // Batches go out a tenth of a second after their first span.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ]);
        settings.extend(base.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .env_clear()
            .envs(settings)
            // No `.env` of the checkout is read.
            .current_dir(mail_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let mut address_tx = Some(address_tx);
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let lines = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(rest) = line.split("GraphQL at ").nth(1)
                    && let Some(tx) = address_tx.take()
                {
                    let _ = tx.send(rest.trim_end_matches("/graphql").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let lines = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        let base_url = match tokio::time::timeout(Duration::from_secs(60), address_rx).await {
            Ok(Ok(url)) => url,
            _ => panic!("the server did not start: {:#?}", log.lock().unwrap()),
        };
        Self {
            child,
            base_url,
            client: reqwest::Client::new(),
            log,
            _mail_dir: mail_dir,
        }
    }

    async fn post(&self, token: &str, traceparent: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/graphql", self.base_url))
            .bearer_auth(token)
            .header("traceparent", traceparent)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// SIGTERM, as a deployment stops it: it must exit cleanly.
    async fn stop(mut self) {
        let pid = self.child.id().expect("the server is running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server stops within a minute")
            .unwrap();
        assert!(
            status.success(),
            "the server exits cleanly ({status}): {:#?}",
            self.log.lock().unwrap()
        );
    }
}
