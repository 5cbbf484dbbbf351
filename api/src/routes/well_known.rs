//! `GET /.well-known/pools-pack-key`: the public key that audit packs are
//! signed with, for anyone to verify a pack offline (see `signing`).

use axum::{Json, Router, extract::State, routing::get};
use serde_json::Value;

use crate::{signing, state::AppState};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(signing::PUBLIC_KEY_PATH, get(pack_key))
        .with_state(state)
}

/// `{"algorithm": "Ed25519", "keyId": …, "publicKey": <base64 of 32 bytes>}`.
async fn pack_key(State(state): State<AppState>) -> Json<Value> {
    Json(state.pack_signer.public_key_document())
}
