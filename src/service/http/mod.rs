//! The HTTP API of the service (axum): Connect cases and their files, applying a create
//! template, pushed return-path snapshots, jobs, the integration log (JSON and a web page for
//! people), the Aurora settings, liveness, Prometheus metrics and the OpenAPI document.
//!
//! [`router`] builds everything from an [`ApiContext`]. The calls are listed once, in
//! [`endpoints`]: the router is built from that list and [`route_table`] reports it, so the
//! OpenAPI document can be checked against the routes that really exist.
//!
//! Every 4xx answer is `{"error": {"code", "message", "details"}}` ([`error::ApiError`]), also
//! for input axum itself refuses; nothing stored changes on a refused request.

mod auth;
mod cases;
pub mod error;
mod extract;
mod jobs;
mod log;
mod log_page;
mod metrics;
mod openapi;
mod settings;
mod validate;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::runtime::aurora::Secret;
use crate::runtime::eval::PreparedBundle;
use crate::service::aurora_slot::AuroraSlot;
use crate::service::store::Store;

pub use error::{ApiError, Detail};
pub use openapi::document as openapi_document;

/// What the API works with.
#[derive(Clone, Debug)]
pub struct ApiContext {
    /// The service's store.
    pub store: Store,
    /// The compiled plans (template names for `apply`).
    pub plans: Arc<PreparedBundle>,
    /// The Aurora client in force; the settings PUT replaces it.
    pub aurora: AuroraSlot,
    /// The API keys accepted as `Authorization: Bearer <key>`.
    pub api_keys: Vec<Secret>,
    /// Size limits of request bodies.
    pub limits: ApiLimits,
}

/// Size limits of request bodies.
#[derive(Clone, Debug)]
pub struct ApiLimits {
    /// Largest JSON body (cases, apply, settings, snapshots), in bytes.
    pub max_body_bytes: usize,
    /// Largest attachment file, in bytes.
    pub max_attachment_bytes: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

/// Room for the multipart framing around an attachment's bytes.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (liveness, metrics, the OpenAPI document).
    Open,
    /// A bearer API key.
    Key,
    /// A bearer API key, or the key as the `key` query parameter (the log page, opened in a
    /// browser that cannot send headers).
    KeyOrQuery,
}

/// The shared state of the handlers.
pub(crate) struct ApiState {
    pub(crate) ctx: ApiContext,
    pub(crate) keys: auth::Keys,
    pub(crate) http_metrics: metrics::HttpMetrics,
}

pub(crate) type AppState = Arc<ApiState>;

/// One call of the API.
pub(crate) struct Endpoint {
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
}

fn endpoint(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        handler,
    }
}

/// Every call of the API, in the order of the documentation.
fn endpoints(limits: &ApiLimits) -> Vec<Endpoint> {
    let attachment_body = limits
        .max_attachment_bytes
        .saturating_add(MULTIPART_OVERHEAD);
    vec![
        endpoint(
            Method::PUT,
            "/v1/cases/{ref}",
            Access::Key,
            put(cases::put_case),
        ),
        endpoint(
            Method::GET,
            "/v1/cases/{ref}",
            Access::Key,
            get(cases::get_case),
        ),
        endpoint(
            Method::POST,
            "/v1/cases/{ref}/attachments",
            Access::Key,
            post(cases::post_attachment).layer(DefaultBodyLimit::max(attachment_body)),
        ),
        endpoint(
            Method::POST,
            "/v1/cases/{ref}/apply",
            Access::Key,
            post(cases::apply),
        ),
        endpoint(
            Method::POST,
            "/v1/aurora/snapshots",
            Access::Key,
            post(jobs::push_snapshot),
        ),
        endpoint(
            Method::GET,
            "/v1/jobs/{id}",
            Access::Key,
            get(jobs::get_job),
        ),
        endpoint(Method::GET, "/v1/log", Access::Key, get(log::get_log)),
        endpoint(
            Method::GET,
            "/v1/settings",
            Access::Key,
            get(settings::get_settings),
        ),
        endpoint(
            Method::PUT,
            "/v1/settings",
            Access::Key,
            put(settings::put_settings),
        ),
        endpoint(Method::GET, "/log", Access::KeyOrQuery, get(log_page::page)),
        endpoint(Method::GET, "/healthz", Access::Open, get(healthz)),
        endpoint(Method::GET, "/metrics", Access::Open, get(metrics::scrape)),
        endpoint(
            Method::GET,
            "/openapi.json",
            Access::Open,
            get(openapi::serve),
        ),
    ]
}

/// The calls the router answers: method, path (axum syntax, `{name}` for a parameter) and who
/// may call it.
pub fn route_table() -> Vec<(Method, &'static str, Access)> {
    endpoints(&ApiLimits::default())
        .into_iter()
        .map(|e| (e.method, e.path, e.access))
        .collect()
}

/// The API's router, with its state.
pub fn router(ctx: ApiContext) -> Router {
    let limits = ctx.limits.clone();
    let state = Arc::new(ApiState {
        keys: auth::Keys::new(&ctx.api_keys),
        http_metrics: metrics::HttpMetrics::default(),
        ctx,
    });
    let mut router: Router<AppState> = Router::new();
    for e in endpoints(&limits) {
        let handler = match e.access {
            Access::Open => e.handler,
            access => e.handler.route_layer(middleware::from_fn_with_state(
                (state.clone(), access),
                auth::require_key,
            )),
        };
        router = router.route(e.path, handler);
    }
    router
        .fallback(no_route)
        .layer(CatchPanicLayer::custom(panicked))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// `GET /healthz`: 200 when the store answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.ctx.store.job_counts().await {
        Ok(_) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable", "store": "not reachable"})),
            )
                .into_response()
        }
    }
}

/// A handler that panicked: the connection is kept and the answer is the error shape, never the
/// panic's text.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the service failed while answering; the request may not have been carried out",
    )
    .into_response()
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(
        "no_route",
        format!(
            "there is no call {method} {}; see /openapi.json for the calls of this API",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not answer {method}; see /openapi.json for the calls of this API",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_the_error_shape() {
        crate::runtime::aurora::install_crypto_provider();
        let app: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let items: Vec<u8> = Vec::new();
                    // An out-of-bounds index: a bug, not input.
                    items[usize::from(items.is_empty())].to_string()
                }),
            )
            .layer(CatchPanicLayer::custom(panicked));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let response = reqwest::get(format!("http://{addr}/boom"))
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status().as_u16(), 500);
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("index out of bounds"), "{body}");
        server.abort();
    }
}
