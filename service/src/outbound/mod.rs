//! The one door for outbound HTTP: every call to a URL that someone other
//! than the operator chose (webhook endpoints, provisioners) goes through
//! [`GuardedClient`]. It refuses URLs with credentials, other schemes or
//! no host, refuses hosts that are or resolve to special-purpose addresses
//! (loopback, private, link-local, …; see [`address`]), connects only to
//! the addresses it checked, and follows no redirect.

pub mod address;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};
use tracing::Instrument;

use crate::config::{Config, Environment};
use address::AddressClass;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// What the door lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `OUTBOUND_ALLOW_PRIVATE`: loopback and private networks may be
    /// reached (self-hosted and test setups).
    pub allow_private: bool,
    /// Only `https` URLs (`APP_ENV=production`).
    pub https_only: bool,
}

impl Policy {
    pub fn from_config(config: &Config) -> Self {
        Self {
            allow_private: config.outbound_allow_private,
            https_only: config.environment == Environment::Production,
        }
    }

    /// The class that keeps `ip` out of reach, if one does.
    pub fn refuses(&self, ip: IpAddr) -> Option<AddressClass> {
        address::classify(ip).filter(|class| !(self.allow_private && class.is_private_network()))
    }
}

/// Why a URL may not be called. Each message completes "the URL …" or
/// stands on its own, and names nothing of this server's internals.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL itself (scheme, credentials, length, host).
    #[error("{0}")]
    Url(String),
    /// Its host is, or resolves to, an address the policy refuses.
    #[error("{0}")]
    Address(String),
    /// Its host name resolves to no address.
    #[error("{0}")]
    Unresolved(String),
}

impl Refusal {
    /// Refused by policy: calling again will not help.
    pub fn is_policy(&self) -> bool {
        matches!(self, Self::Url(_) | Self::Address(_))
    }
}

const NOT_HTTP: &str = "must be an http(s) URL, such as https://example.org/hooks";

/// The checks that need no lookup, for a URL that is only shown to people:
/// no control characters, http(s), a host, no credentials, at most
/// [`MAX_URL_LEN`] characters.
pub fn check_shown_url(url: &str) -> Result<Url, Refusal> {
    if url.len() > MAX_URL_LEN {
        return Err(Refusal::Url(format!(
            "must be at most {MAX_URL_LEN} characters"
        )));
    }
    // The parser would drop tabs and line breaks and percent-encode NUL,
    // but the text as given is what is stored and shown.
    if let Some(c) = url.chars().find(|c| c.is_control()) {
        return Err(Refusal::Url(format!(
            "must not contain control characters (found U+{:04X})",
            u32::from(c)
        )));
    }
    let parsed = Url::parse(url).map_err(|_| Refusal::Url(NOT_HTTP.into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(Refusal::Url(NOT_HTTP.into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::Url(
            "must not contain a user name or password; requests are authenticated by their signature"
                .into(),
        ));
    }
    Ok(parsed)
}

/// The checks that need no lookup, for a URL that will be called: those
/// of [`check_shown_url`], `https` under [`Policy::https_only`], and a host
/// given as an IP address must be one the policy allows.
pub fn check_url(url: &str, policy: &Policy) -> Result<Url, Refusal> {
    let parsed = check_shown_url(url)?;
    if policy.https_only && parsed.scheme() != "https" {
        return Err(Refusal::Url("must be an https URL in production".into()));
    }
    if let Some(ip) = literal_ip(&parsed)
        && let Some(class) = policy.refuses(ip)
    {
        return Err(Refusal::Address(format!("{ip} is {}", class.describe())));
    }
    Ok(parsed)
}

/// The host as an IP address, when it is written as one (such URLs are
/// never resolved, so they are checked here). `http://2130706433/` is
/// already `127.0.0.1` once parsed.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Resolves `host` and refuses it if any of its addresses is refused: a
/// name with one public and one private address could otherwise be used
/// to reach the private one.
async fn resolve_checked(host: &str, policy: Policy) -> Result<Vec<SocketAddr>, Refusal> {
    let unresolved = || Refusal::Unresolved(format!("{host} does not resolve to any address"));
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| unresolved())?
        .collect();
    if addrs.is_empty() {
        return Err(unresolved());
    }
    if let Some((ip, class)) = addrs
        .iter()
        .find_map(|a| policy.refuses(a.ip()).map(|class| (a.ip(), class)))
    {
        return Err(Refusal::Address(format!(
            "{host} resolves to {ip}, {}",
            class.describe()
        )));
    }
    Ok(addrs)
}

/// reqwest's resolver: the addresses it returns are the ones checked, and
/// reqwest connects to them without looking the name up again, so a name
/// that answers differently the second time (DNS rebinding) gains nothing.
struct GuardedResolver {
    policy: Policy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&host, policy).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Why a call did not get a 2xx answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Not sent: the URL or its addresses are refused, or it did not resolve.
    Refused(Refusal),
    /// A 3xx answer; redirects are never followed.
    Redirect(u16),
    /// Any other non-2xx answer.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// No connection.
    Unreachable,
}

/// The HTTP client for every outbound call; see the module's documentation.
#[derive(Clone)]
pub struct GuardedClient {
    client: reqwest::Client,
    policy: Policy,
}

impl GuardedClient {
    pub fn new(policy: Policy, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent("pools-webhooks/1")
            .redirect(redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .build()?;
        Ok(Self { client, policy })
    }

    pub fn from_config(config: &Config) -> Result<Self, reqwest::Error> {
        Self::new(Policy::from_config(config), config.outbound_timeout)
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// At registration: refuses what a call would refuse, looking the
    /// host name up now. Returns the parsed URL.
    pub async fn check_target(&self, url: &str) -> Result<Url, Refusal> {
        let parsed = check_url(url, &self.policy)?;
        if literal_ip(&parsed).is_none()
            && let Some(host) = parsed.host_str()
        {
            resolve_checked(host, self.policy).await?;
        }
        Ok(parsed)
    }

    /// POSTs `body` with `headers`; the status code of a 2xx answer. When
    /// traces are exported, the call is a span of its own and the request
    /// carries its `traceparent`.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, Failure> {
        let parsed = check_url(url, &self.policy).map_err(Failure::Refused)?;
        let span = call_span(&parsed);
        let result = self
            .send(parsed, headers, body)
            .instrument(span.clone())
            .await;
        if crate::trace_context::enabled() {
            record_outcome(&span, &result);
        }
        result
    }

    async fn send(
        &self,
        parsed: Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, Failure> {
        let mut request = self.client.post(parsed);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        for (name, value) in crate::trace_context::current_headers() {
            request = request.header(name, value);
        }
        match request.body(body).send().await {
            Ok(res) if res.status().is_success() => Ok(res.status().as_u16()),
            Ok(res) if res.status().is_redirection() => {
                Err(Failure::Redirect(res.status().as_u16()))
            }
            Ok(res) => Err(Failure::Status(res.status().as_u16())),
            Err(e) => Err(match refusal_in(&e) {
                Some(refusal) => Failure::Refused(refusal),
                None if e.is_timeout() => Failure::Timeout,
                None => Failure::Unreachable,
            }),
        }
    }
}

/// The span of one call: its method, host and port, never its path or
/// query, which may carry a token.
fn call_span(url: &Url) -> tracing::Span {
    if !crate::trace_context::enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "outbound",
        otel.name = "POST",
        otel.kind = "client",
        http.request.method = "POST",
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default(),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

fn record_outcome(span: &tracing::Span, result: &Result<u16, Failure>) {
    let (status, error) = match result {
        Ok(status) => (Some(*status), None),
        Err(Failure::Redirect(status) | Failure::Status(status)) => (Some(*status), Some("status")),
        Err(Failure::Refused(_)) => (None, Some("refused")),
        Err(Failure::Timeout) => (None, Some("timeout")),
        Err(Failure::Unreachable) => (None, Some("unreachable")),
    };
    if let Some(status) = status {
        span.record("http.response.status_code", status);
    }
    if let Some(error) = error {
        span.record("error.type", error);
        span.record("otel.status_code", "ERROR");
    }
}

/// The resolver's refusal, somewhere in the chain of causes.
fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal.clone());
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests;
