//! The way out for email: SMTP when `SMTP_URL` is set, otherwise `.eml`
//! files in `MAIL_DIR` (lettre's file transport), each logged with its
//! recipient and subject, so a newcomer running the server sees what it
//! would have sent.

use std::{path::PathBuf, time::Duration};

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{Header, HeaderName, HeaderValue},
    },
};

use tracing::Instrument;

use super::{
    render::{Letter, Rendered},
    smtp::Smtp,
};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Mailer {
    /// `smtp://` URLs: connections of our own (see `smtp`).
    Direct { smtp: Smtp, from: Mailbox },
    /// `smtps://`: lettre's pooled transport.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Files {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
        from: Mailbox,
    },
}

/// Why a message did not go out.
#[derive(Debug)]
pub struct SendError {
    /// Worth trying again (the server was down, busy, or said "later").
    pub transient: bool,
    pub message: String,
}

impl Mailer {
    /// The mailer the settings ask for; an error names the setting.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        dir: PathBuf,
    ) -> Result<Self, (&'static str, String)> {
        let from: Mailbox = from.parse().map_err(|e| {
            (
                "MAIL_FROM",
                format!("expected an address such as `Pools <no-reply@example.org>`: {e}"),
            )
        })?;
        match smtp_url {
            Some(url) => {
                let invalid = |e: String| {
                    (
                        "SMTP_URL",
                        format!("expected smtp://, smtps:// or smtp://…?tls=required: {e}"),
                    )
                };
                if let Some(smtp) = Smtp::from_url(url, SMTP_TIMEOUT).map_err(invalid)? {
                    return Ok(Self::Direct { smtp, from });
                }
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        (
                            "SMTP_URL",
                            format!("expected smtp://, smtps:// or smtp://…?tls=required: {e}"),
                        )
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Self::Smtp { transport, from })
            }
            None => {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| ("MAIL_DIR", format!("cannot create the folder: {e}")))?;
                Ok(Self::Files {
                    transport: AsyncFileTransport::new(&dir),
                    dir,
                    from,
                })
            }
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Self::Direct { from, .. } | Self::Smtp { from, .. } | Self::Files { from, .. } => from,
        }
    }

    /// The domain of the sender's address, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.from().email.domain()
    }

    /// Sends a letter as `message_id` (stable across retries, so a
    /// message sent twice is recognisable as one).
    pub async fn send(
        &self,
        letter: &Letter,
        rendered: Rendered,
        message_id: &str,
        unsubscribe_post: bool,
    ) -> Result<(), SendError> {
        let to: Mailbox = letter.to.parse().map_err(|e| SendError {
            transient: false,
            message: format!("the recipient's address is not one: {e}"),
        })?;
        let mut builder = Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(letter.subject.clone())
            .message_id(Some(format!("<{message_id}>")));
        if let Some(link) = &letter.unsubscribe {
            builder = builder.header(ListUnsubscribe(format!("<{}>", link.url)));
            if unsubscribe_post {
                builder = builder.header(ListUnsubscribePost);
            }
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| SendError {
                transient: false,
                message: format!("the message cannot be built: {e}"),
            })?;
        let span = self.send_span();
        let sent = self
            .hand_over(letter, message)
            .instrument(span.clone())
            .await;
        if sent.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        sent
    }

    /// The span of one message handed over, when traces are exported: the
    /// transport and the SMTP host, never the recipient or the subject.
    fn send_span(&self) -> tracing::Span {
        if !crate::trace_context::enabled() {
            return tracing::Span::none();
        }
        let (transport, host) = match self {
            Self::Direct { smtp, .. } => ("smtp", smtp.host()),
            Self::Smtp { .. } => ("smtps", ""),
            Self::Files { .. } => ("file", ""),
        };
        tracing::info_span!(
            "mail",
            otel.name = "mail send",
            otel.kind = "client",
            mail.transport = transport,
            server.address = host,
            otel.status_code = tracing::field::Empty,
        )
    }

    async fn hand_over(&self, letter: &Letter, message: Message) -> Result<(), SendError> {
        match self {
            Self::Direct { smtp, .. } => smtp
                .send(message.envelope(), &message.formatted())
                .await
                .map_err(|f| SendError {
                    transient: f.transient,
                    message: f.message,
                }),
            Self::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        // A refusal for good (5xx) is final; "try later" (4xx),
                        // a closed connection or a timeout is worth a retry.
                        transient: !e.is_permanent(),
                        message: format!("the SMTP server refused or failed: {e}"),
                    })
            }
            Self::Files { transport, dir, .. } => {
                let id = transport.send(message).await.map_err(|e| SendError {
                    transient: true,
                    message: format!("the message could not be written: {e}"),
                })?;
                tracing::info!(
                    to = %letter.to,
                    subject = %letter.subject,
                    file = %dir.join(format!("{id}.eml")).display(),
                    "mail written to a file (no SMTP_URL is set)"
                );
                Ok(())
            }
        }
    }
}

/// RFC 2369: where to stop receiving this kind of message.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// RFC 8058: the link unsubscribes with one POST, no page to click through.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}
