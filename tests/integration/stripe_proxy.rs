//! An HTTP proxy in front of localstripe, between the server under test and
//! Stripe. It gives what localstripe lacks, Stripe's handling of the
//! `Idempotency-Key` header, so a test can tell a correct retry from a
//! double charge, and it injects faults: answers held back after Stripe did
//! the work, or failures before the request reaches Stripe.
//!
//! Rules act first, as the network would: a `fail` rule answers before
//! Stripe sees anything; a `delay_answers` rule holds back whatever Stripe
//! answers (a forwarded answer, a replay or an idempotency error).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use serde_json::json;

/// The headers passed on to Stripe.
const FORWARDED: [&str; 4] = [
    "authorization",
    "content-type",
    "stripe-version",
    "idempotency-key",
];

/// One request the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// With the query, as sent.
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The status answered; 0 while Stripe has not answered yet.
    pub status: u16,
    /// Answered from the idempotency store, not by Stripe.
    pub replayed: bool,
}

/// A handle on a running proxy; clones share it. The proxy stops when the
/// last handle drops.
#[derive(Clone)]
pub struct StripeProxy {
    shared: Arc<Shared>,
    url: String,
    _server: Arc<Server>,
}

/// Aborts the server task when dropped.
struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    state: Mutex<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    rules: Vec<Rule>,
    /// Keyed by (`Authorization`, `Idempotency-Key`), as Stripe keys them
    /// per account.
    keys: HashMap<(String, String), Keyed>,
    /// Every request in order of arrival, and whether it reached Stripe.
    log: Vec<(Seen, bool)>,
}

struct Rule {
    method: String,
    prefix: String,
    action: Action,
    times: usize,
}

#[derive(Clone, Copy)]
enum Action {
    Delay(Duration),
    Fail(u16),
}

/// Method, path and the sorted parameters: what makes two requests with a
/// key "the same request".
type Fingerprint = (String, String, Vec<(String, String)>, Vec<(String, String)>);

enum Keyed {
    InFlight(Fingerprint),
    Done(Fingerprint, Answer),
}

#[derive(Clone)]
struct Answer {
    status: u16,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl StripeProxy {
    /// Starts a proxy in front of `upstream` (e.g. the TEST_STRIPE_URL value).
    pub async fn start(upstream: &str) -> StripeProxy {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            state: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        StripeProxy {
            shared,
            url,
            _server: Arc::new(Server(server)),
        }
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The next `times` requests matching `pattern` reach upstream at once,
    /// but their answer is held back `delay` before it is sent (the caller
    /// times out meanwhile, while Stripe did the work).
    pub fn delay_answers(&self, pattern: &str, delay: Duration, times: usize) {
        self.add_rule(pattern, Action::Delay(delay), times);
    }

    /// The next `times` requests matching `pattern` do not reach upstream
    /// and get `status` with a Stripe-shaped error body.
    pub fn fail(&self, pattern: &str, status: u16, times: usize) {
        StatusCode::from_u16(status).unwrap_or_else(|_| panic!("{status} is no HTTP status"));
        self.add_rule(pattern, Action::Fail(status), times);
    }

    /// How many requests matching `pattern` reached upstream so far
    /// (replays answered by the proxy itself are not counted).
    pub fn reached(&self, pattern: &str) -> usize {
        let (method, prefix) = parse_pattern(pattern);
        self.shared
            .state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|(seen, reached)| *reached && matches(&method, &prefix, seen))
            .count()
    }

    /// Every request seen, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        let state = self.shared.state.lock().unwrap();
        state.log.iter().map(|(seen, _)| seen.clone()).collect()
    }

    fn add_rule(&self, pattern: &str, action: Action, times: usize) {
        let (method, prefix) = parse_pattern(pattern);
        self.shared.state.lock().unwrap().rules.push(Rule {
            method,
            prefix,
            action,
            times,
        });
    }
}

/// `"POST /v1/subscriptions"` into its method and path prefix.
fn parse_pattern(pattern: &str) -> (String, String) {
    let (method, prefix) = pattern
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("a pattern is \"METHOD /path-prefix\", not {pattern:?}"));
    let prefix = prefix.trim().trim_end_matches('/');
    (method.to_ascii_uppercase(), prefix.to_owned())
}

/// Whether a request falls under a pattern: the same method, and the
/// prefix ends at a path segment's boundary.
fn matches(method: &str, prefix: &str, seen: &Seen) -> bool {
    let path = seen.path.split('?').next().unwrap_or_default();
    seen.method == method
        && path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn stripe_error(status: u16, kind: &str, message: &str) -> Answer {
    Answer {
        status,
        content_type: Some(HeaderValue::from_static("application/json")),
        body: Bytes::from(json!({ "error": { "type": kind, "message": message } }).to_string()),
    }
}

fn respond(answer: &Answer, replayed: bool) -> Response {
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(content_type) = &answer.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn sorted_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(encoded)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What Stripe does with a request the rules let through.
enum Plan {
    Forward { slot: Option<(String, String)> },
    Answer(Answer, bool),
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let key = header_text(&parts.headers, "idempotency-key");
    let authorization = header_text(&parts.headers, "authorization").unwrap_or_default();
    let fingerprint: Fingerprint = (
        method.clone(),
        parts.uri.path().to_owned(),
        sorted_pairs(parts.uri.query().unwrap_or_default().as_bytes()),
        sorted_pairs(&body),
    );

    // Under one lock: the rule that applies, the idempotency decision and
    // the log entry, so concurrent requests with one key see each other.
    let (index, action, plan) = {
        let mut state = shared.state.lock().unwrap();
        let mut seen = Seen {
            method: method.clone(),
            path: path.clone(),
            idempotency_key: key.clone(),
            status: 0,
            replayed: false,
        };
        let action = state
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && matches(&r.method, &r.prefix, &seen))
            .map(|r| {
                r.times -= 1;
                r.action
            });
        let plan = if let Some(Action::Fail(status)) = action {
            let message = format!("Injected failure: {status} before reaching Stripe.");
            Plan::Answer(stripe_error(status, "api_error", &message), false)
        } else if let Some(key) = &key {
            let slot = (authorization, key.clone());
            match state.keys.get(&slot) {
                None => {
                    state
                        .keys
                        .insert(slot.clone(), Keyed::InFlight(fingerprint.clone()));
                    Plan::Forward { slot: Some(slot) }
                }
                Some(Keyed::InFlight(_)) => Plan::Answer(
                    stripe_error(
                        409,
                        "idempotency_error",
                        &format!(
                            "There is currently another in-progress request using this \
                             Idempotent Key (that probably means you submitted twice, and the \
                             other request is still going through): {key}. Please try again \
                             later."
                        ),
                    ),
                    false,
                ),
                Some(Keyed::Done(first, answer)) if *first == fingerprint => {
                    Plan::Answer(answer.clone(), true)
                }
                Some(Keyed::Done(..)) => Plan::Answer(
                    stripe_error(
                        400,
                        "idempotency_error",
                        &format!(
                            "Keys for idempotent requests can only be used with the same \
                             parameters they were first used with. Try using a key other than \
                             '{key}' if you meant to execute a different request."
                        ),
                    ),
                    false,
                ),
            }
        } else {
            Plan::Forward { slot: None }
        };
        let reached = matches!(plan, Plan::Forward { .. });
        if let Plan::Answer(answer, replayed) = &plan {
            seen.status = answer.status;
            seen.replayed = *replayed;
        }
        state.log.push((seen, reached));
        (state.log.len() - 1, action, plan)
    };

    let (answer, replayed) = match plan {
        Plan::Answer(answer, replayed) => (answer, replayed),
        Plan::Forward { slot } => {
            // Stripe finishes what it started even when the caller goes
            // away, so the exchange runs on its own task.
            let task = tokio::spawn(forward(
                shared.clone(),
                parts.method,
                path,
                parts.headers,
                body,
                index,
                slot,
            ));
            let answer = task.await.unwrap_or_else(|e| {
                stripe_error(
                    502,
                    "api_error",
                    &format!("the proxy's forward failed: {e}"),
                )
            });
            (answer, false)
        }
    };
    if let Some(Action::Delay(delay)) = action {
        tokio::time::sleep(delay).await;
    }
    respond(&answer, replayed)
}

/// Sends the request to Stripe, records the answer and, for a request with
/// a key, stores it for replays.
async fn forward(
    shared: Arc<Shared>,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    index: usize,
    slot: Option<(String, String)>,
) -> Answer {
    let mut upstream = shared
        .client
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for name in FORWARDED {
        if let Some(value) = headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
            match res.bytes().await {
                Ok(body) => Ok(Answer {
                    status,
                    content_type,
                    body,
                }),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    let mut state = shared.state.lock().unwrap();
    match answer {
        Ok(answer) => {
            state.log[index].0.status = answer.status;
            if let Some(slot) = slot
                && let Some(Keyed::InFlight(fingerprint)) = state.keys.remove(&slot)
            {
                state
                    .keys
                    .insert(slot, Keyed::Done(fingerprint, answer.clone()));
            }
            answer
        }
        Err(e) => {
            // Stripe never answered: nothing to replay, a retry goes through.
            if let Some(slot) = slot {
                state.keys.remove(&slot);
            }
            let answer = stripe_error(502, "api_error", &format!("Stripe did not answer: {e}"));
            state.log[index].0.status = answer.status;
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::{Seen, StripeProxy};
    use crate::helpers::eventually;

    const KEY: &str = "sk_test_12345";

    async fn proxy() -> StripeProxy {
        StripeProxy::start(&crate::databases::STRIPE.url()).await
    }

    /// Posts a form through the proxy; returns status, replay header, body.
    async fn post(
        client: &reqwest::Client,
        url: String,
        key: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Result<(u16, bool, Value)> {
        let mut request = client.post(url).basic_auth(KEY, Some("")).form(form);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let res = request.send().await?;
        let status = res.status().as_u16();
        let replayed = res
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        Ok((status, replayed, res.json().await?))
    }

    /// Customers with this email at localstripe.
    async fn customers(email: &str) -> Vec<Value> {
        let list: Value = reqwest::Client::new()
            // localstripe lists the oldest first, ten to a page: ask by email.
            .get(format!("{}/v1/customers", crate::databases::STRIPE.url()))
            .query(&[("email", email), ("limit", "100")])
            .basic_auth(KEY, Some(""))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["email"] == email)
            .cloned()
            .collect()
    }

    fn unique_email() -> String {
        format!("{}@example.org", uuid::Uuid::now_v7().simple())
    }

    fn unique_key() -> String {
        format!("key-{}", uuid::Uuid::now_v7().simple())
    }

    #[tokio::test]
    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
    async fn a_repeated_key_is_answered_once_and_then_replayed() {
        let proxy = proxy().await;
        let client = reqwest::Client::new();
        let url = format!("{}/v1/customers", proxy.url());
        let (email, key) = (unique_email(), unique_key());
        let form = [("email", email.as_str()), ("description", "first")];

        let (status, replayed, first) =
            post(&client, url.clone(), Some(&key), &form).await.unwrap();
        assert_eq!((status, replayed), (200, false), "{first:#}");
        let (status, replayed, second) =
            post(&client, url.clone(), Some(&key), &form).await.unwrap();
        assert_eq!((status, replayed), (200, true), "{second:#}");
        assert_eq!(second["id"], first["id"]);
        assert_eq!(customers(&email).await.len(), 1, "one customer at Stripe");
        assert_eq!(proxy.reached("POST /v1/customers"), 1);

        // The same key for other parameters is refused, and not forwarded.
        let other = [("email", email.as_str()), ("description", "second")];
        let (status, _, refused) = post(&client, url.clone(), Some(&key), &other)
            .await
            .unwrap();
        assert_eq!(status, 400, "{refused:#}");
        assert_eq!(refused["error"]["type"], "idempotency_error");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{key}'")),
            "{refused:#}"
        );
        assert_eq!(proxy.reached("POST /v1/customers"), 1);

        // Keys are per account: another secret key may use the same one.
        let res = client
            .post(url)
            .basic_auth("sk_test_other", Some(""))
            .header("idempotency-key", &key)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("idempotent-replayed").is_none());
        assert_eq!(proxy.reached("POST /v1/customers"), 2);

        assert_eq!(
            proxy.seen()[..3],
            [
                Seen {
                    method: "POST".into(),
                    path: "/v1/customers".into(),
                    idempotency_key: Some(key.clone()),
                    status: 200,
                    replayed: false
                },
                Seen {
                    method: "POST".into(),
                    path: "/v1/customers".into(),
                    idempotency_key: Some(key.clone()),
                    status: 200,
                    replayed: true
                },
                Seen {
                    method: "POST".into(),
                    path: "/v1/customers".into(),
                    idempotency_key: Some(key.clone()),
                    status: 400,
                    replayed: false
                },
            ]
        );
    }

    #[tokio::test]
    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
    async fn parameter_order_does_not_change_the_fingerprint() {
        let proxy = proxy().await;
        let client = reqwest::Client::new();
        let url = format!("{}/v1/customers", proxy.url());
        let (email, key) = (unique_email(), unique_key());
        let (_, _, first) = post(
            &client,
            url.clone(),
            Some(&key),
            &[
                ("email", &email),
                ("metadata[a]", "1"),
                ("metadata[b]", "2"),
            ],
        )
        .await
        .unwrap();
        let (status, replayed, second) = post(
            &client,
            url,
            Some(&key),
            &[
                ("metadata[b]", "2"),
                ("email", &email),
                ("metadata[a]", "1"),
            ],
        )
        .await
        .unwrap();
        assert_eq!((status, replayed), (200, true), "{second:#}");
        assert_eq!(second["id"], first["id"]);
        assert_eq!(customers(&email).await.len(), 1);
    }

    #[tokio::test]
    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
    async fn a_failure_does_not_reach_stripe_and_its_retry_does() {
        let proxy = proxy().await;
        let client = reqwest::Client::new();
        let (email, key) = (unique_email(), unique_key());
        let form = [("email", email.as_str())];
        proxy.fail("POST /v1/customers", 503, 1);
        // A pattern matches whole path segments only.
        proxy.fail("POST /v1/customer", 500, 5);

        let (status, _, failed) = post(
            &client,
            format!("{}/v1/customers", proxy.url()),
            Some(&key),
            &form,
        )
        .await
        .unwrap();
        assert_eq!(status, 503);
        assert_eq!(failed["error"]["type"], "api_error");
        assert_eq!(proxy.reached("POST /v1/customers"), 0);
        assert!(customers(&email).await.is_empty());

        let (status, replayed, created) = post(
            &client,
            format!("{}/v1/customers", proxy.url()),
            Some(&key),
            &form,
        )
        .await
        .unwrap();
        assert_eq!((status, replayed), (200, false), "{created:#}");
        assert_eq!(proxy.reached("POST /v1/customers"), 1);
        // The prefix matches the customer's own path too.
        let (status, _, _) = post(
            &client,
            format!(
                "{}/v1/customers/{}",
                proxy.url(),
                created["id"].as_str().unwrap()
            ),
            None,
            &[("description", "updated")],
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        assert_eq!(proxy.reached("POST /v1/customers"), 2);
        assert_eq!(proxy.reached("GET /v1/customers"), 0);
        assert_eq!(customers(&email).await.len(), 1);
    }

    #[tokio::test]
    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
    async fn a_delayed_answer_times_the_caller_out_and_the_retry_is_a_replay() {
        let proxy = proxy().await;
        let (email, key) = (unique_email(), unique_key());
        let form = [("email", email.as_str())];
        let url = format!("{}/v1/customers", proxy.url());
        proxy.delay_answers("POST /v1/customers", Duration::from_secs(3), 1);

        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let timed_out = post(&impatient, url.clone(), Some(&key), &form).await;
        assert!(
            timed_out.as_ref().is_err_and(reqwest::Error::is_timeout),
            "{timed_out:?}"
        );
        assert_eq!(proxy.reached("POST /v1/customers"), 1);

        // Stripe answered (the proxy still holds the answer back).
        eventually("Stripe's answer to the first request", || {
            let seen = proxy.seen();
            std::future::ready(if seen[0].status == 200 {
                Ok(())
            } else {
                Err(seen)
            })
        })
        .await;
        let (status, replayed, retried) = post(&reqwest::Client::new(), url, Some(&key), &form)
            .await
            .unwrap();
        assert_eq!((status, replayed), (200, true), "{retried:#}");
        assert_eq!(proxy.reached("POST /v1/customers"), 1);
        let at_stripe = customers(&email).await;
        assert_eq!(at_stripe.len(), 1);
        assert_eq!(at_stripe[0]["id"], retried["id"]);
    }

    #[tokio::test]
    #[cfg_attr(skip_stripe, ignore = "SKIP_STRIPE=1: needs localstripe")]
    async fn a_request_while_its_key_is_in_flight_is_a_conflict() {
        // A second proxy behind the first holds Stripe's answer back, so
        // the first proxy's request stays in flight meanwhile.
        let slow = proxy().await;
        let front = StripeProxy::start(&slow.url()).await;
        slow.delay_answers("POST /v1/customers", Duration::from_secs(2), 1);
        let (email, key) = (unique_email(), unique_key());
        let url = format!("{}/v1/customers", front.url());
        let client = reqwest::Client::new();

        let first = tokio::spawn({
            let (client, url, key, email) =
                (client.clone(), url.clone(), key.clone(), email.clone());
            async move { post(&client, url, Some(&key), &[("email", email.as_str())]).await }
        });
        eventually("the first request at Stripe", || {
            std::future::ready(match slow.reached("POST /v1/customers") {
                1 => Ok(()),
                n => Err(n),
            })
        })
        .await;
        let (status, _, conflict) = post(&client, url, Some(&key), &[("email", email.as_str())])
            .await
            .unwrap();
        assert_eq!(status, 409, "{conflict:#}");
        assert_eq!(conflict["error"]["type"], "idempotency_error");
        assert!(
            conflict["error"]["message"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    "still going through): {key}. Please try again later."
                )),
            "{conflict:#}"
        );
        let (status, replayed, _) = first.await.unwrap().unwrap();
        assert_eq!((status, replayed), (200, false));
        assert_eq!(front.reached("POST /v1/customers"), 1);
        assert_eq!(slow.reached("POST /v1/customers"), 1);
        assert_eq!(customers(&email).await.len(), 1);
    }
}
