//! SMTP connections the server opens itself, for `smtp://` URLs (plain or
//! with STARTTLS), with lettre still speaking the protocol.
//!
//! Why not lettre's pooled transport: it writes a message's body and its
//! terminating `.` in two writes on a socket without `TCP_NODELAY`, so the
//! small second write waits for the acknowledgement of the first, which
//! the receiver delays: 48 to 54 ms per message on a local server
//! (`strace`), 95 messages/s in `scripts/bench/mail.py` against 207 with
//! this. Here the socket has `TCP_NODELAY`. `smtps://` (TLS from the first byte) still goes
//! through lettre's transport, which gives no way to wrap a stream of ours.

use std::{sync::Mutex, time::Duration};

use lettre::{
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, TlsParameters},
        extension::ClientId,
    },
};
use tokio::net::TcpStream;

/// Connections kept open between messages (one per job a worker runs at
/// once is enough).
const IDLE_MAX: usize = 8;

/// STARTTLS as the URL asks for it (`?tls=required` or `opportunistic`).
enum StartTls {
    No,
    Required(TlsParameters),
    Opportunistic(TlsParameters),
}

pub struct Smtp {
    host: String,
    port: u16,
    start_tls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

/// A failed exchange: whether trying again later may work, and why.
pub struct Failure {
    pub transient: bool,
    pub message: String,
}

impl Smtp {
    /// For `smtp://[user:pass@]host[:port][/hello-name][?tls=required|opportunistic]`;
    /// `None` for any other scheme (left to lettre's transport).
    pub fn from_url(url: &str, timeout: Duration) -> Result<Option<Self>, String> {
        let url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        if url.scheme() != "smtp" {
            return Ok(None);
        }
        let host = url
            .host_str()
            .ok_or("the URL names no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
        let (start_tls, default_port) = match tls.as_deref() {
            None => (StartTls::No, 25),
            Some("required") => (StartTls::Required(params()?), 587),
            Some("opportunistic") => (StartTls::Opportunistic(params()?), 587),
            Some(other) => return Err(format!("unknown tls={other}")),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = url
            .password()
            .map(|password| Credentials::new(decode(url.username()), decode(password)));
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Some(Self {
            port: url.port().unwrap_or(default_port),
            host,
            start_tls,
            credentials,
            hello,
            timeout,
            idle: Mutex::new(Vec::new()),
        }))
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends one message over a kept connection, or a new one; the whole
    /// exchange is bounded by the timeout.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        match tokio::time::timeout(self.timeout, self.exchange(envelope, message)).await {
            Ok(result) => result,
            Err(_) => Err(Failure {
                transient: true,
                message: format!("the SMTP server did not answer within {:?}", self.timeout),
            }),
        }
    }

    async fn exchange(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        let mut conn = match self.take_idle() {
            Some(mut kept) => {
                if kept.test_connected().await {
                    kept
                } else {
                    self.connect().await?
                }
            }
            None => self.connect().await?,
        };
        match conn.send(envelope, message).await {
            Ok(_) => {
                self.keep(conn);
                Ok(())
            }
            // The connection was ended by the failure (lettre aborts it).
            Err(e) => Err(failure(&e)),
        }
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn keep(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_MAX && !conn.has_broken() {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let refused = |e: std::io::Error| Failure {
            transient: true,
            message: format!(
                "cannot reach the SMTP server {}:{}: {e}",
                self.host, self.port
            ),
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(refused)?;
        tcp.set_nodelay(true).map_err(refused)?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
            .await
            .map_err(|e| failure(&e))?;
        match &self.start_tls {
            StartTls::No => {}
            StartTls::Opportunistic(_) if !conn.can_starttls() => {}
            StartTls::Required(params) | StartTls::Opportunistic(params) => {
                if !conn.can_starttls() {
                    conn.abort().await;
                    return Err(Failure {
                        transient: false,
                        message: "the SMTP server does not offer STARTTLS, which SMTP_URL requires"
                            .into(),
                    });
                }
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(|e| failure(&e))?;
            }
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(|e| failure(&e))?;
        }
        Ok(conn)
    }
}

/// A refusal for good (5xx) is final; "try later" (4xx), a closed
/// connection or a timeout is worth a retry.
fn failure(e: &lettre::transport::smtp::Error) -> Failure {
    Failure {
        transient: !e.is_permanent(),
        message: format!("the SMTP server refused or failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn urls_are_read_as_lettre_reads_them() {
        let plain = Smtp::from_url("smtp://127.0.0.1:2525", T).unwrap().unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
        assert!(matches!(plain.start_tls, StartTls::No));
        assert!(plain.credentials.is_none());

        let submission = Smtp::from_url(
            "smtp://a%40b:p%2Fw@mail.example/pools.example?tls=required",
            T,
        )
        .unwrap()
        .unwrap();
        assert_eq!(submission.port, 587);
        assert!(matches!(submission.start_tls, StartTls::Required(_)));
        assert!(submission.credentials.is_some());
        assert_eq!(submission.hello, ClientId::Domain("pools.example".into()));

        assert!(Smtp::from_url("smtps://mail.example", T).unwrap().is_none());
        assert!(Smtp::from_url("smtp://mail.example?tls=sometimes", T).is_err());
        assert!(Smtp::from_url("not a url", T).is_err());
    }
}
