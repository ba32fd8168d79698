//! The simulated Identity Service: the OAuth2 resource-owner password grant.
//! Error bodies follow the OAuth2 convention (unverified for Aurora).

use super::state::Shared;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/identity/connect/token", post(token))
}

async fn token(
    State(sim): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    sim.count_call("token");
    sim.latency().await;
    if sim.roll_for(sim.faults().failure_rate, b"fail", b"token") {
        sim.lock().counts.injected_failures += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let creds = &sim.config.credentials;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let refusal = if field("grant_type") != "password" {
        Some(("unsupported_grant_type", "grant_type must be password"))
    } else if field("client_id") != creds.client_id
        || field("client_secret") != creds.client_secret.expose()
    {
        Some(("invalid_client", "unknown client or wrong client secret"))
    } else if !field("scope").split_whitespace().any(|s| s == creds.scope) {
        Some(("invalid_scope", "the scope is not allowed for this client"))
    } else if field("username") != creds.username || field("password") != creds.password.expose() {
        Some(("invalid_grant", "invalid_username_or_password"))
    } else {
        None
    };
    if let Some((error, description)) = refusal {
        sim.lock().counts.failed_grants += 1;
        return (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response();
    }
    let (token, lifetime) = sim.issue_token();
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": token,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": creds.scope,
        })),
    )
        .into_response()
}
