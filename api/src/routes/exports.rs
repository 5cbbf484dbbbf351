//! `GET /exports/...`: CSV registers, ledgers and audit trails, streamed a
//! page at a time so memory stays flat whatever the size; and a pool's audit
//! pack as JSON. Bearer token as for GraphQL, with the same authorization.
//!
//! - `/exports/pools/{id}/register.csv`, `ledger.csv`,
//!   `work-contributions.csv`, `leases.csv`, `audit-trail.csv`,
//!   `audit-pack.json` (signed: see `signing`)
//! - `/exports/parent-entities/{id}/register.csv`, `ledger.csv`,
//!   `work-contributions.csv`, `assets.csv`, `leases.csv`, `fund-ledger.csv`,
//!   `fund-applications.csv`, `audit-trail.csv`
//! - `/exports/spin-outs/{id}/incorporation-pack.json` (signed the same way)
//! - `/exports/life-packs/{id}`: the signed pack an end-of-life step of a
//!   pool sealed, as it was signed

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use uuid::Uuid;

use crate::{
    auth::RequestContext,
    error::AppError,
    request::{Peer, RequestId},
    services::{
        exports::{self, Cursor, Scope, Table, pack},
        life_packs, spin_outs,
    },
    signing,
    state::AppState,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/exports/pools/{id}/{file}", get(pool_export))
        .route("/exports/parent-entities/{id}/{file}", get(parent_export))
        .route("/exports/spin-outs/{id}/{file}", get(spin_out_export))
        .route("/exports/life-packs/{id}", get(life_pack))
        .with_state(state)
}

async fn pool_export(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    if file == "audit-pack.json" {
        let context = context(&state, &request_id, &peer, &headers);
        let result = async {
            let actor = context.require_actor(&state).await?;
            pack::signed(&state, actor, id).await
        }
        .await;
        return match result {
            Ok(pack) => signed_pack(pack, id),
            Err(e) => e.into_response(),
        };
    }
    export(state, request_id, peer, headers, Scope::Pool(id), &file).await
}

/// A spin-out's incorporation pack, signed as an audit pack is.
async fn spin_out_export(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let (Some(id), "incorporation-pack.json") = (parse_id(&id), file.as_str()) else {
        return not_found();
    };
    let context = context(&state, &request_id, &peer, &headers);
    let result = async {
        let actor = context.require_actor(&state).await?;
        spin_outs::incorporation_pack(&state, actor, id).await
    }
    .await;
    match result {
        Ok(pack) => signed_body(pack, &format!("spin-out-{id}-incorporation-pack.json")),
        Err(e) => e.into_response(),
    }
}

/// A pack an end-of-life step sealed, as it was signed.
async fn life_pack(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    let context = context(&state, &request_id, &peer, &headers);
    let result = async {
        let actor = context.require_actor(&state).await?;
        life_packs::download(&state, actor, id).await
    }
    .await;
    match result {
        Ok(pack) => signed_body(pack, &format!("life-pack-{id}.json")),
        Err(e) => e.into_response(),
    }
}

/// The pack's bytes, exactly as signed, with the signature beside them.
fn signed_pack(pack: pack::SignedPack, id: Uuid) -> Response {
    signed_body(pack, &format!("pool-{id}-audit-pack.json"))
}

fn signed_body(pack: pack::SignedPack, filename: &str) -> Response {
    let mut response = pack.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [
        (signing::SIGNATURE_HEADER, pack.signature),
        (signing::KEY_ID_HEADER, pack.key_id),
    ] {
        // Base64 and hex digits: always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    attach(&mut response, filename);
    response
}

async fn parent_export(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    peer: Peer,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    export(
        state,
        request_id,
        peer,
        headers,
        Scope::ParentEntity(id),
        &file,
    )
    .await
}

async fn export(
    state: AppState,
    request_id: String,
    peer: Peer,
    headers: HeaderMap,
    scope: Scope,
    file: &str,
) -> Response {
    let Some(table) = Table::parse(file) else {
        return not_found();
    };
    let context = context(&state, &request_id, &peer, &headers);
    let allowed = async {
        let actor = context.require_actor(&state).await?;
        exports::authorize(&state, actor, scope, table).await
    }
    .await;
    if let Err(e) = allowed {
        return e.into_response();
    }
    let (id, kind) = match scope {
        Scope::Pool(id) => (id, "pool"),
        Scope::ParentEntity(id) => (id, "parent-entity"),
    };
    let mut response = Body::from_stream(stream(state, scope, table, request_id)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    attach(&mut response, &format!("{kind}-{id}-{file}"));
    response
}

/// Pages are read by a task and handed over a small channel: the database
/// is read only as fast as the client takes the CSV.
fn stream(
    state: AppState,
    scope: Scope,
    table: Table,
    request_id: String,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    crate::trace_context::spawn(async move {
        let mut cursor = Cursor::Start;
        let mut header = Some(table.header());
        loop {
            let chunk = match exports::page(&state.reads, scope, table, cursor).await {
                Ok((records, next)) => {
                    match csv_chunk(header.take(), &records) {
                        Ok(bytes) => {
                            if tx.send(Ok(bytes)).await.is_err() {
                                return; // the client went away
                            }
                        }
                        Err(e) => {
                            tracing::error!(request_id = %request_id, error = %e, "writing CSV");
                            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                            return;
                        }
                    }
                    next
                }
                Err(e) => {
                    if let AppError::Internal(cause) = &e {
                        tracing::error!(request_id = %request_id, error = ?cause, "export failed");
                    }
                    // Breaking the body tells the client the file is incomplete.
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            match chunk {
                Some(next) => cursor = next,
                None => return,
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// RFC 4180 records (CRLF, quoted where needed) for one page.
fn csv_chunk(header: Option<&[&str]>, records: &[Vec<String>]) -> Result<Bytes, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(64 * 1024));
    if let Some(header) = header {
        writer.write_record(header)?;
    }
    for record in records {
        writer.write_record(
            record
                .iter()
                .map(|cell| spreadsheet_safe(cell).into_owned()),
        )?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) gets a
/// leading apostrophe, unless it is a plain number such as `-40`.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn context(state: &AppState, request_id: &str, peer: &Peer, headers: &HeaderMap) -> RequestContext {
    RequestContext::new(
        request_id.to_owned(),
        peer.client_address(state.config.trust_forwarded_for),
        crate::graphql::http::bearer_token(headers),
        false,
    )
}

fn attach(response: &mut Response, filename: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
}

fn parse_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

fn not_found() -> Response {
    AppError::NotFound(
        "no such export: use register.csv, ledger.csv, work-contributions.csv or audit-trail.csv (and audit-pack.json for a pool) under a valid id"
            .to_owned(),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("-40"), "-40");
        assert_eq!(spreadsheet_safe("Ada"), "Ada");
    }

    #[test]
    fn chunks_are_rfc_4180() -> Result<(), csv::Error> {
        let bytes = csv_chunk(
            Some(&["a", "b"]),
            &[vec!["x,y".into(), "say \"hi\"".into()]],
        )?;
        assert_eq!(&bytes[..], b"a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n");
        Ok(())
    }
}
