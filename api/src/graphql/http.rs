//! GraphQL over HTTP: `POST /graphql` (JSON, single or batched) and
//! `GET /graphql` (queries only, by text or persisted hash; GraphiQL for
//! browsers). Request-level protections answer with a coded error before
//! any SQL runs.

use std::sync::Arc;

use async_graphql::{
    BatchRequest, Request, Response,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Bytes,
    extract::{Query, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use serde::Deserialize;

use crate::{
    auth::RequestContext,
    error::{
        AppError, INTERNAL_MESSAGE, UNAVAILABLE_RETRY_AFTER_SECS, code, error_response,
        set_retry_after,
    },
    graphql::{
        AppSchema, MAX_BATCH,
        accept::{self, ResponseFormat},
        codes, denials,
        documents::Documents,
        graphiql,
        loaders::Loaders,
        metrics as graphql_metrics,
        persisted::PersistedQueries,
    },
    metrics,
    request::{Peer, RequestId},
    state::AppState,
    trace_context,
};

/// What the GraphQL routes share.
#[derive(Clone)]
pub struct GraphqlServer {
    pub schema: AppSchema,
    /// Tells why `schema` refused a request (`graphql::build_diagnosis_schema`).
    pub diagnosis: AppSchema,
    /// For `/graphql/ws` (see `graphql::build_socket_schema`).
    pub socket_schema: AppSchema,
    pub documents: Documents,
    /// Automatic persisted queries, shared by GET and POST.
    pub persisted: Arc<PersistedQueries>,
    pub state: AppState,
}

/// How the operations of one HTTP request are answered.
#[derive(Clone, Copy)]
struct Answer {
    /// A JSON array of requests gets an array of answers.
    batched: bool,
    /// GET runs no mutation.
    over_get: bool,
    format: ResponseFormat,
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub async fn post(
    State(server): State<GraphqlServer>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> axum::response::Response {
    let Some(format) = ResponseFormat::negotiate(&headers) else {
        return accept::not_acceptable(&request_id);
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as JSON with `Content-Type: application/json`",
            &request_id,
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                "the request body is larger than 1 MiB",
                &request_id,
            );
        }
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                "the request body could not be read",
                &request_id,
            );
        }
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                &format!("the body is not a GraphQL request (`{{\"query\": …}}`): {e}"),
                &request_id,
            );
        }
    };
    let (requests, batched) = match batch {
        BatchRequest::Single(r) => (vec![r], false),
        BatchRequest::Batch(rs) if rs.len() > MAX_BATCH => {
            return error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                &format!("a batch may hold at most {MAX_BATCH} operations"),
                &request_id,
            );
        }
        BatchRequest::Batch(rs) => (rs, true),
    };
    let answer = Answer {
        batched,
        over_get: false,
        format,
    };
    execute(&server, requests, answer, &headers, &peer, &request_id).await
}

/// `GET /graphql?query=…` or, for a persisted query,
/// `?extensions={"persistedQuery":…}`; `variables` and `extensions` are JSON.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    /// The request these parameters make. Parsed here rather than by
    /// async-graphql's `parse_query_string`, which reads `operation_name`
    /// where clients send `operationName`.
    fn into_request(self) -> Result<Request, String> {
        let json = |name: &str, value: Option<String>| match value.filter(|v| !v.is_empty()) {
            None => Ok(serde_json::Value::Null),
            Some(v) => serde_json::from_str(&v)
                .map_err(|e| format!("the `{name}` parameter is not JSON: {e}")),
        };
        let request = serde_json::json!({
            "query": self.query,
            "operationName": self.operation_name,
            "variables": json("variables", self.variables)?,
            "extensions": json("extensions", self.extensions)?,
        });
        serde_json::from_value(request)
            .map_err(|e| format!("the query string is not a GraphQL request: {e}"))
    }
}

pub async fn get(
    State(server): State<GraphqlServer>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    let params = match params {
        Ok(Query(params)) => params,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                &format!(
                    "the query string is not a GraphQL request: {}",
                    e.body_text()
                ),
                &request_id,
            );
        }
    };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let asks_nothing = params.query.is_empty() && params.extensions.is_none();
    if wants_html && asks_nothing && server.state.config.graphiql {
        return graphiql::page();
    }
    let Some(format) = ResponseFormat::negotiate(&headers) else {
        return accept::not_acceptable(&request_id);
    };
    let request = match params.into_request() {
        Ok(r) => r,
        Err(message) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                &message,
                &request_id,
            );
        }
    };
    let answer = Answer {
        batched: false,
        over_get: true,
        format,
    };
    execute(&server, vec![request], answer, &headers, &peer, &request_id).await
}

async fn execute(
    server: &GraphqlServer,
    requests: Vec<Request>,
    answer: Answer,
    headers: &HeaderMap,
    peer: &Peer,
    request_id: &str,
) -> axum::response::Response {
    // One deadline for everything the HTTP request does: looking up the
    // caller, every operation of a batch, and recording refusals. A wait
    // for a database connection inside it ends on its own, sooner, with
    // UNAVAILABLE (`DATABASE_ACQUIRE_TIMEOUT_MS`).
    let deadline = tokio::time::Instant::now() + server.state.config.request_timeout;
    let credentials = bearer_token(headers);
    let client_address = peer.client_address(server.state.config.trust_forwarded_for);
    // Recorded with a session it opens, for the person's list of sessions.
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(300).collect::<String>());
    let mut responses = Vec::with_capacity(requests.len());
    let mut status = StatusCode::OK;
    let credential_calls = std::sync::Arc::default();
    let metrics = &server.state.metrics;
    let mut traced = TracedOperations::default();
    for mut request in requests {
        let started = std::time::Instant::now();
        // Before anything reads the query: a persisted one is filled in here.
        if let Err(refused) = server.persisted.resolve(&mut request) {
            let response = finalize(Response::from_errors(vec![refused]), request_id);
            graphql_metrics::record(metrics, metrics::INVALID, &response, started);
            traced.push(metrics::INVALID, &response);
            responses.push(response);
            continue;
        }
        server.documents.parse(&mut request);
        let label = graphql_metrics::label(metrics, &mut request);
        let is_mutation = operation_type(&mut request) == Some(OperationType::Mutation);
        if is_mutation && answer.over_get {
            let mut resp = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                code::METHOD_NOT_ALLOWED,
                "mutations must be sent with POST",
                request_id,
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return resp;
        }
        let calls = if is_mutation {
            denials::mutation_calls(&mut request)
        } else {
            Vec::new()
        };
        let context = RequestContext::new(
            request_id.to_owned(),
            client_address.clone(),
            credentials.clone(),
            is_mutation,
        )
        .with_credential_calls(std::sync::Arc::clone(&credential_calls))
        .with_user_agent(user_agent.clone())
        .with_read_memo();
        let run = async {
            if let Some(refusal) =
                refuse_before_execution(&server.state, &context, is_mutation).await
            {
                return (refusal, None);
            }
            // Resolved now (the context caches the caller) for recording refusals.
            let author = if calls.is_empty() {
                None
            } else {
                Some(denials::author_of(&server.state, &context).await)
            };
            panic_if_asked(&server.state, &mut request);
            let request = request.data(Loaders::new(&server.state)).data(context);
            let response = codes::execute(&server.schema, &server.diagnosis, request).await;
            (response, author)
        };
        let response = match tokio::time::timeout_at(deadline, run).await {
            Ok((response, author)) => {
                if let Some(author) = &author {
                    let record = denials::record_refusals(&server.state, author, &calls, &response);
                    if tokio::time::timeout_at(deadline, record).await.is_err() {
                        tracing::error!("recording refused mutations ran past the request timeout");
                    }
                }
                response
            }
            Err(_) => {
                status = StatusCode::GATEWAY_TIMEOUT;
                Response::from_errors(vec![codes::coded(
                    "the request took too long and was stopped; ask for less at once",
                    code::TIMEOUT,
                )])
            }
        };
        let response = finalize(response, request_id);
        graphql_metrics::record(metrics, &label, &response, started);
        traced.push(&label, &response);
        responses.push(response);
    }
    traced.name_request_span();
    let unavailable = status == StatusCode::OK && responses.iter().all(failed_as_unavailable);
    if unavailable {
        status = StatusCode::SERVICE_UNAVAILABLE;
    }
    // A batch has no one status to give; a single operation may.
    if status == StatusCode::OK
        && !answer.batched
        && let Some(response) = responses.first()
    {
        status = answer.format.status(response);
    }
    // Straight to bytes: going through `serde_json::Value` first would
    // build the whole response a second time.
    let bodies: Vec<_> = responses.iter().map(|r| answer.format.body(r)).collect();
    let body = if answer.batched {
        serde_json::to_vec(&bodies)
    } else {
        serde_json::to_vec(&bodies.first())
    };
    match body {
        Ok(body) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, answer.format.content_type())],
                body,
            )
                .into_response();
            if unavailable {
                set_retry_after(&mut response, UNAVAILABLE_RETRY_AFTER_SECS);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "serialising a GraphQL response");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
                INTERNAL_MESSAGE,
                request_id,
            )
        }
    }
}

/// What the request's span learns of its operations, when traces are
/// exported: their labels (bounded, as the metrics' are) and outcome codes.
#[derive(Default)]
struct TracedOperations(Vec<(String, String)>);

impl TracedOperations {
    fn push(&mut self, label: &str, response: &Response) {
        if trace_context::enabled() {
            let outcome = graphql_metrics::outcome_code(response);
            self.0.push((label.to_owned(), outcome.to_owned()));
        }
    }

    /// The span is named after its operation; a batch is named `batch`,
    /// with its labels in order and the first outcome that is not `OK`.
    fn name_request_span(self) {
        let Some((first_label, first_outcome)) = self.0.first() else {
            return;
        };
        let span = tracing::Span::current();
        let (name, labels, outcome) = if self.0.len() == 1 {
            (
                first_label.clone(),
                first_label.clone(),
                first_outcome.clone(),
            )
        } else {
            let labels: Vec<&str> = self.0.iter().map(|(l, _)| l.as_str()).collect();
            let outcome = self
                .0
                .iter()
                .map(|(_, o)| o.as_str())
                .find(|o| *o != "OK")
                .unwrap_or("OK");
            ("batch".to_owned(), labels.join(","), outcome.to_owned())
        };
        span.record("graphql.operation.name", labels.as_str());
        span.record("outcome", outcome.as_str());
        trace_context::rename(&span, name);
    }
}

/// Whether an operation produced nothing because the database could not be
/// reached: it has errors, all of them `UNAVAILABLE`, and no root field
/// has a value.
fn failed_as_unavailable(response: &Response) -> bool {
    let no_data = match &response.data {
        async_graphql::Value::Null => true,
        async_graphql::Value::Object(fields) => {
            fields.values().all(|v| *v == async_graphql::Value::Null)
        }
        _ => false,
    };
    no_data
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from(code::UNAVAILABLE))
        })
}

/// Refusals before anything of the operation runs: API tokens without
/// `WRITE` on every mutation, including those that need no sign-in; and a
/// database that cannot be reached to look the caller up.
async fn refuse_before_execution(
    state: &AppState,
    context: &RequestContext,
    is_mutation: bool,
) -> Option<Response> {
    if !is_mutation || !context.has_credentials() {
        return None;
    }
    match context.actor(state).await {
        Err(err @ (AppError::Forbidden(_) | AppError::Unavailable { .. })) => {
            Some(Response::from_errors(vec![
                async_graphql::Error::from(err).into_server_error(Default::default()),
            ]))
        }
        // An invalid token is reported by whichever field needs the caller;
        // signIn must still work for a client holding a stale token.
        _ => None,
    }
}

pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    strip_bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token in `Bearer <token>`, or the whole value when it has no scheme.
pub fn strip_bearer(value: &str) -> Option<String> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    };
    (!token.is_empty()).then(|| token.to_owned())
}

/// `TEST_PANIC_OPERATION` (development only): the operation of that name
/// panics as it starts, as a resolver with a bug would.
fn panic_if_asked(state: &AppState, request: &mut Request) {
    let Some(name) = &state.config.test_panic_operation else {
        return;
    };
    let asked = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else {
        return;
    };
    let runs = match (&doc.operations, asked) {
        (DocumentOperations::Multiple(_), Some(asked)) => asked == *name,
        (DocumentOperations::Multiple(ops), None) => {
            ops.len() == 1 && ops.keys().any(|op| op.as_str() == name)
        }
        (DocumentOperations::Single(_), _) => false,
    };
    if runs {
        panic!("operation `{name}` panics (TEST_PANIC_OPERATION)");
    }
}

/// The type of the operation the request will run, if its query parses.
fn operation_type(request: &mut Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let doc = request.parsed_query().ok()?;
    denials::selected_operation(doc, name.as_deref()).map(|op| op.node.ty)
}

/// Gives every error the request id. The library's own errors got their
/// codes where they arose (`graphql::codes`); an error that still has none
/// is one nobody expected: before execution it is a bad request, during it
/// our fault, logged and answered with the generic message.
pub(crate) fn finalize(mut response: Response, request_id: &str) -> Response {
    for err in &mut response.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            let code = if err.path.is_empty() {
                code::BAD_REQUEST
            } else {
                tracing::error!(message = %err.message, "uncoded resolver error");
                err.message = INTERNAL_MESSAGE.to_owned();
                code::INTERNAL
            };
            ext.set("code", code);
        }
        ext.set("requestId", request_id);
    }
    response
}
