//! Admin endpoints for tests and demos: raise a trigger, read counts, change faults.

use super::FaultsUpdate;
use super::problem::field_problem;
use super::state::{Shared, TriggerRequest};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/admin/trigger", post(trigger))
        .route("/admin/counts", get(counts))
        .route("/admin/faults", get(faults).put(put_faults))
        .route("/admin/revoke-tokens", post(revoke))
        .route("/admin/cases/{case_number}", get(case))
        .route("/admin/attachments/{id}", get(attachment))
        .route("/admin/blobs", post(put_blob))
}

async fn trigger(State(sim): State<Arc<Shared>>, Json(request): Json<TriggerRequest>) -> Response {
    match sim.trigger(request) {
        Ok((name, snapshot)) => (
            StatusCode::CREATED,
            Json(json!({"name": name, "snapshot": snapshot})),
        )
            .into_response(),
        Err(message) => field_problem(StatusCode::BAD_REQUEST, "Bad trigger", "trigger", &message),
    }
}

async fn counts(State(sim): State<Arc<Shared>>) -> Response {
    Json(sim.counts()).into_response()
}

async fn faults(State(sim): State<Arc<Shared>>) -> Response {
    Json(sim.faults()).into_response()
}

async fn put_faults(State(sim): State<Arc<Shared>>, Json(update): Json<FaultsUpdate>) -> Response {
    match sim.update_faults(&update) {
        Ok(f) => Json(f).into_response(),
        Err(message) => field_problem(StatusCode::BAD_REQUEST, "Bad faults", "faults", &message),
    }
}

async fn revoke(State(sim): State<Arc<Shared>>) -> Response {
    sim.revoke_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn case(State(sim): State<Arc<Shared>>, Path(case_number): Path<String>) -> Response {
    match sim.case_json(&case_number) {
        Some(v) => Json(v).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn attachment(State(sim): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match sim.attachment_json(&id) {
        Some(v) => Json(v).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct BlobBody {
    name: String,
    /// Written as given when a string, else as JSON.
    body: serde_json::Value,
}

async fn put_blob(State(sim): State<Arc<Shared>>, Json(blob): Json<BlobBody>) -> Response {
    if blob.name.is_empty() {
        return field_problem(
            StatusCode::BAD_REQUEST,
            "Bad blob",
            "name",
            "name is required",
        );
    }
    let bytes = match blob.body {
        serde_json::Value::String(s) => s.into_bytes(),
        other => other.to_string().into_bytes(),
    };
    sim.put_blob(&blob.name, bytes);
    StatusCode::CREATED.into_response()
}
