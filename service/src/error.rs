//! The one error type of the API, its closed set of codes, and the single place
//! where it becomes a GraphQL error.

use async_graphql::ErrorExtensions;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The closed set of `extensions.code` values. The README documents each one;
/// clients may switch on them.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const VALIDATION: &str = "VALIDATION";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// Apollo's automatic persisted queries: the hash is unknown, send the
    /// query with it (the message is the protocol's `PersistedQueryNotFound`).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
    pub const TIMEOUT: &str = "TIMEOUT";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const PAYMENT_FAILED: &str = "PAYMENT_FAILED";
    pub const PAYMENT_PROVIDER: &str = "PAYMENT_PROVIDER";
    pub const INTERNAL: &str = "INTERNAL";

    /// Every code, in the order the README lists them.
    pub const ALL: [&str; 18] = [
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        VALIDATION,
        CONFLICT,
        RATE_LIMITED,
        BAD_REQUEST,
        QUERY_TOO_COMPLEX,
        PERSISTED_QUERY_NOT_FOUND,
        PAYLOAD_TOO_LARGE,
        METHOD_NOT_ALLOWED,
        UNSUPPORTED_MEDIA_TYPE,
        NOT_ACCEPTABLE,
        TIMEOUT,
        UNAVAILABLE,
        PAYMENT_FAILED,
        PAYMENT_PROVIDER,
        INTERNAL,
    ];
}

/// One invalid input field: `path` is the dotted path from the operation's
/// arguments (`input.email`), `message` says what to change. A formation's
/// problem also carries its code (`TEMPLATE_CONFLICT`, `TOO_FEW`, …) as
/// `problem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            problem: None,
        }
    }

    /// The field error of a formation's problem with code `problem`.
    pub fn problem(
        path: impl Into<String>,
        problem: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            problem: Some(problem),
            ..Self::new(path, message)
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Deliberately not `Display`: async-graphql converts any `Display` type into
/// an uncoded error, so `?` must find only our own conversion below.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    Validation(Vec<FieldError>),
    Conflict(String),
    /// A `CONFLICT` because the object moved past the version the client
    /// sent; `extensions.currentVersion` says where it is now.
    Stale {
        message: String,
        current_version: i32,
    },
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    BadRequest(String),
    /// The database cannot be reached, or no connection was free within
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: nothing was done, try again later.
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// The card was declined or the payment refused.
    PaymentFailed(String),
    /// The payment provider could not be reached or failed.
    PaymentProvider(String),
    /// Anything the client cannot act on. The cause is logged, never sent.
    Internal(anyhow::Error),
}

fn summary(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.path, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::BadRequest(m)
            | Self::PaymentFailed(m)
            | Self::PaymentProvider(m)
            | Self::RateLimited { message: m, .. }
            | Self::Stale { message: m, .. }
            | Self::Unavailable { message: m, .. } => m.clone(),
            Self::Validation(fields) => format!("invalid input: {}", summary(fields)),
            Self::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::Validation(_) => code::VALIDATION,
            Self::Conflict(_) | Self::Stale { .. } => code::CONFLICT,
            Self::RateLimited { .. } => code::RATE_LIMITED,
            Self::BadRequest(_) => code::BAD_REQUEST,
            Self::Unavailable { .. } => code::UNAVAILABLE,
            Self::PaymentFailed(_) => code::PAYMENT_FAILED,
            Self::PaymentProvider(_) => code::PAYMENT_PROVIDER,
            Self::Internal(_) => code::INTERNAL,
        }
    }

    /// A single-field validation error.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(path, message)])
    }

    /// The client edited `what` at `expected`, but it is at `current` now.
    pub fn stale(what: &str, current: i32) -> Self {
        Self::Stale {
            message: format!(
                "the {what} changed since you loaded it: it is at version {current} now; reload it and apply your change again"
            ),
            current_version: current,
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if database_unavailable(&err) {
            // The request span carries the request id.
            tracing::warn!(error = %err, "the database is unavailable");
            return Self::unavailable();
        }
        Self::Internal(err.into())
    }
}

/// How long a client is asked to wait after `UNAVAILABLE`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl AppError {
    /// The database could not be reached in time.
    pub fn unavailable() -> Self {
        Self::Unavailable {
            message: format!(
                "the database cannot be reached or is too busy right now; nothing was changed, \
                 try again in {UNAVAILABLE_RETRY_AFTER_SECS} seconds"
            ),
            retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
        }
    }
}

/// Whether a database error means "could not reach the database or get a
/// connection in time" rather than "this statement failed": a pool timeout,
/// a closed pool, a connection that broke (I/O), PostgreSQL refusing
/// connections (SQLSTATE class 08, shutdown, starting up, too many
/// connections), or SQLite still locked after its busy timeout. Everything
/// else, genuine SQL errors included, stays `INTERNAL`.
pub fn database_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e),
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| unavailable_code(&c)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs are five characters; SQLite's (extended) result
/// codes are numbers of at most four digits.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        code.starts_with("08") // connection exception
            || matches!(
                code,
                "57P01" // admin_shutdown
                | "57P02" // crash_shutdown
                | "57P03" // cannot_connect_now (starting up or shutting down)
                | "53300" // too_many_connections
            )
    } else {
        // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
        code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
    }
}

/// The message sent for `INTERNAL`: nothing about the cause, only what lets
/// an operator find it in the log.
pub const INTERNAL_MESSAGE: &str =
    "Something went wrong on our side. Quote the request id if you report it.";

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            // The request span carries the request id.
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::Validation(fields) => {
                    let list: Vec<async_graphql::Value> = fields
                        .iter()
                        .map(|f| {
                            let mut obj = async_graphql::indexmap::IndexMap::new();
                            obj.insert(
                                async_graphql::Name::new("path"),
                                async_graphql::Value::from(f.path.clone()),
                            );
                            obj.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::from(f.message.clone()),
                            );
                            if let Some(problem) = f.problem {
                                obj.insert(
                                    async_graphql::Name::new("problem"),
                                    async_graphql::Value::from(problem),
                                );
                            }
                            async_graphql::Value::Object(obj)
                        })
                        .collect();
                    ext.set("fields", list);
                }
                Self::RateLimited {
                    retry_after_secs, ..
                }
                | Self::Unavailable {
                    retry_after_secs, ..
                } => ext.set("retryAfterSeconds", *retry_after_secs),
                Self::Stale {
                    current_version, ..
                } => ext.set("currentVersion", *current_version),
                _ => {}
            }
        })
    }
}

impl AppError {
    /// The HTTP status of this error where a route answers it with one (the
    /// REST routes); GraphQL answers 200 and carries the code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) | Self::Stale { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PaymentFailed(_) => StatusCode::PAYMENT_REQUIRED,
            // The provider is not configured or cannot be reached.
            Self::PaymentProvider(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            }
            | Self::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

tokio::task_local! {
    /// The request id of the request this task is answering, for answers
    /// built where no extractor reaches: `AppError`'s response and the
    /// answer to a panic.
    pub static CURRENT_REQUEST_ID: String;
}

/// The current request's id, or `unknown` outside a request.
pub fn current_request_id() -> String {
    CURRENT_REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// A response that is only an error, for requests refused before execution.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> axum::response::Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code, "requestId": request_id } }]
    });
    (status, axum::Json(body)).into_response()
}

/// `Retry-After` in seconds, for 503 answers.
pub fn set_retry_after(response: &mut axum::response::Response, secs: u64) {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(secs),
    );
}

/// The answer of a REST route: the status to match the code, the same JSON
/// error as GraphQL's with the request id, and `Retry-After` where the
/// client is asked to wait.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The request span carries the request id.
            tracing::error!(error = ?cause, "internal error");
        }
        let mut response = error_response(
            self.status(),
            self.code(),
            &self.message(),
            &current_request_id(),
        );
        if let Some(secs) = self.retry_after_secs() {
            set_retry_after(&mut response, secs);
        }
        response
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_http_status() {
        let cases = [
            (AppError::Unauthenticated("x".into()), 401, None),
            (AppError::Forbidden("x".into()), 403, None),
            (AppError::NotFound("x".into()), 404, None),
            (AppError::invalid("input.a", "bad"), 400, None),
            (AppError::BadRequest("x".into()), 400, None),
            (AppError::Conflict("x".into()), 409, None),
            (AppError::stale("formation", 7), 409, None),
            (
                AppError::RateLimited {
                    message: "x".into(),
                    retry_after_secs: 3,
                },
                429,
                Some("3"),
            ),
            (AppError::unavailable(), 503, Some("5")),
            (AppError::PaymentFailed("x".into()), 402, None),
            (AppError::PaymentProvider("x".into()), 503, None),
            (AppError::internal(anyhow::anyhow!("db down")), 500, None),
        ];
        for (err, status, retry_after) in cases {
            let code = err.code();
            let response = err.into_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            assert_eq!(
                response
                    .headers()
                    .get(axum::http::header::RETRY_AFTER)
                    .map(|v| v.to_str().unwrap()),
                retry_after,
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn responses_carry_code_message_and_request_id() {
        let response = CURRENT_REQUEST_ID
            .scope("req-7".to_owned(), async {
                AppError::internal(anyhow::anyhow!("secret cause")).into_response()
            })
            .await;
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "errors": [{
                "message": INTERNAL_MESSAGE,
                "extensions": { "code": "INTERNAL", "requestId": "req-7" }
            }] })
        );
    }

    fn code_of(err: AppError) -> String {
        let gql = err.extend();
        let ext = gql.extensions.expect("extensions are set");
        match ext.get("code") {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn every_variant_maps_to_its_code() {
        assert_eq!(
            code_of(AppError::Unauthenticated("x".into())),
            "UNAUTHENTICATED"
        );
        assert_eq!(code_of(AppError::Forbidden("x".into())), "FORBIDDEN");
        assert_eq!(code_of(AppError::NotFound("x".into())), "NOT_FOUND");
        assert_eq!(code_of(AppError::invalid("input.a", "bad")), "VALIDATION");
        assert_eq!(code_of(AppError::Conflict("x".into())), "CONFLICT");
        assert_eq!(code_of(AppError::stale("formation", 7)), "CONFLICT");
        assert_eq!(
            code_of(AppError::RateLimited {
                message: "x".into(),
                retry_after_secs: 3
            }),
            "RATE_LIMITED"
        );
        assert_eq!(code_of(AppError::BadRequest("x".into())), "BAD_REQUEST");
        assert_eq!(code_of(AppError::unavailable()), "UNAVAILABLE");
        assert_eq!(
            code_of(AppError::PaymentFailed("x".into())),
            "PAYMENT_FAILED"
        );
        assert_eq!(
            code_of(AppError::PaymentProvider("x".into())),
            "PAYMENT_PROVIDER"
        );
        assert_eq!(
            code_of(AppError::internal(anyhow::anyhow!("db down"))),
            "INTERNAL"
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let gql =
            AppError::from(sea_orm::DbErr::Custom("relation \"users\" secret".into())).extend();
        assert_eq!(gql.message, INTERNAL_MESSAGE);
    }

    #[test]
    fn stale_versions_carry_the_current_one() {
        let gql = AppError::stale("formation", 7).extend();
        assert!(gql.message.contains("version 7"), "{}", gql.message);
        let ext = gql.extensions.expect("extensions are set");
        assert_eq!(
            ext.get("currentVersion"),
            Some(&async_graphql::Value::from(7))
        );
    }

    #[test]
    fn validation_errors_name_every_field() {
        let gql = AppError::Validation(vec![
            FieldError::new("input.email", "is not an email address"),
            FieldError::new("input.password", "is too short"),
        ])
        .extend();
        let ext = gql.extensions.expect("extensions are set");
        let Some(async_graphql::Value::List(fields)) = ext.get("fields") else {
            panic!("no fields");
        };
        assert_eq!(fields.len(), 2);
        assert!(gql.message.contains("input.email"));
    }

    #[test]
    fn a_formation_problem_names_its_code_beside_its_field() {
        let gql = AppError::Validation(vec![
            FieldError::problem("input.templateId", "TOO_FEW", "needs three"),
            FieldError::new("input.name", "is taken"),
        ])
        .extend();
        let ext = gql.extensions.expect("extensions are set");
        let Some(async_graphql::Value::List(fields)) = ext.get("fields") else {
            panic!("no fields");
        };
        let problem = |i: usize| match &fields[i] {
            async_graphql::Value::Object(o) => o.get("problem").cloned(),
            _ => None,
        };
        assert_eq!(problem(0), Some(async_graphql::Value::from("TOO_FEW")));
        assert_eq!(problem(1), None, "a plain field has no problem code");
    }

    fn sqlx(err: sqlx::Error) -> sea_orm::RuntimeErr {
        sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err))
    }

    #[test]
    fn unreachable_databases_are_unavailable() {
        use sea_orm::{ConnAcquireErr, DbErr};
        let refused =
            || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(sqlx(refused())),
            DbErr::Exec(sqlx(sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::UnexpectedEof,
            )))),
            DbErr::Query(sqlx(sqlx::Error::PoolTimedOut)),
            DbErr::Query(sqlx(sqlx::Error::PoolClosed)),
        ] {
            let gql = AppError::from(err.clone()).extend();
            let ext = gql.extensions.expect("extensions are set");
            assert_eq!(
                ext.get("code"),
                Some(&async_graphql::Value::from("UNAVAILABLE")),
                "{err}"
            );
            assert_eq!(
                ext.get("retryAfterSeconds"),
                Some(&async_graphql::Value::from(UNAVAILABLE_RETRY_AFTER_SECS))
            );
        }
    }

    #[test]
    fn failed_statements_stay_internal() {
        use sea_orm::{DbErr, RuntimeErr};
        for err in [
            DbErr::Exec(RuntimeErr::Internal("syntax error".into())),
            DbErr::Query(sqlx(sqlx::Error::RowNotFound)),
            DbErr::Query(sqlx(sqlx::Error::ColumnNotFound("x".into()))),
            DbErr::Custom("x".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            assert_eq!(code_of(AppError::from(err)), "INTERNAL");
        }
    }

    #[test]
    fn database_codes_that_mean_unreachable() {
        for code in ["08006", "08001", "57P01", "57P03", "53300", "5", "517", "6"] {
            assert!(unavailable_code(code), "{code}");
        }
        // Unique violation, syntax error, statement timeout (PostgreSQL);
        // unique and foreign-key constraints, I/O error (SQLite).
        for code in ["23505", "42601", "57014", "2067", "787", "10"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
