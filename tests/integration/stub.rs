//! A small HTTP server inside the test that plays the other side: an app
//! operator taking provisioning requests, or an integrator receiving
//! webhooks. It records every request and answers as the test scripts it.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request the stub received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub headers: HashMap<String, String>,
    pub raw: Vec<u8>,
    pub body: Value,
    pub at: Instant,
}

/// How the stub answers the next request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// Answers 200 only after this long (longer than the caller waits).
    Slow(Duration),
    /// Answers this 3xx status with `Location:` this URL.
    Redirect(u16, String),
    /// Never answers: the caller gives up or goes away first.
    Hold,
}

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// The requests that got an answer, in the order answered.
    answered: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

pub struct Stub {
    pub url: String,
    shared: Shared,
}

impl Stub {
    /// Starts on a free loopback port; answers 200 unless scripted.
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.shared
            .script
            .lock()
            .unwrap()
            .extend(replies.iter().cloned());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The requests answered so far (all but the held ones).
    pub fn answered(&self) -> Vec<Seen> {
        self.shared.answered.lock().unwrap().clone()
    }

    /// Waits until `count` requests match `filter`, and returns them.
    pub async fn wait_for(&self, count: usize, filter: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        crate::helpers::eventually(&format!("expected {count} matching requests"), || {
            let matching: Vec<Seen> = self.seen().into_iter().filter(|s| filter(s)).collect();
            let result = if matching.len() >= count {
                Ok(matching)
            } else {
                Err(self.seen().into_iter().map(|s| s.body).collect::<Vec<_>>())
            };
            std::future::ready(result)
        })
        .await
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = shared.script.lock().unwrap().pop_front();
    let seen = Seen {
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        raw: body.to_vec(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    if matches!(reply, Some(Reply::Hold)) {
        std::future::pending::<()>().await;
    }
    let response = answer(reply).await;
    shared.answered.lock().unwrap().push(seen);
    response
}

async fn answer(reply: Option<Reply>) -> Response {
    match reply {
        Some(Reply::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Reply::Slow(wait)) => {
            // The slowness is what the test is about, not a wait for state.
            tokio::time::sleep(wait).await;
            StatusCode::OK.into_response()
        }
        Some(Reply::Redirect(code, location)) => (
            StatusCode::from_u16(code).unwrap(),
            [(header::LOCATION, location)],
        )
            .into_response(),
        Some(Reply::Hold) | None => StatusCode::OK.into_response(),
    }
}

/// A provisioning callback's `X-Pools-Signature`, as the README says:
/// `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<jobId>.<body>">`.
pub fn sign_callback(secret: &str, job_id: &str, body: &[u8]) -> String {
    sign_callback_at(secret, chrono::Utc::now().timestamp(), job_id, body)
}

/// [`sign_callback`] as if signed at `t`.
pub fn sign_callback_at(secret: &str, t: i64, job_id: &str, body: &[u8]) -> String {
    let mut message = format!("{job_id}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={t},v1={}", mac(secret, t, &message))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a request's `X-Pools-Signature` the way a receiver would.
pub fn verify(secret: &str, seen: &Seen) -> bool {
    let Some(header) = seen.headers.get("x-pools-signature") else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    match (t, v1) {
        (Some(t), Some(v1)) => {
            (chrono::Utc::now().timestamp() - t).abs() < 300 && mac(secret, t, &seen.raw) == v1
        }
        _ => false,
    }
}
