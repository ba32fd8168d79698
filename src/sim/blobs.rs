//! The simulated Azure blob container: listing with prefix, marker and page size, and fetch,
//! both guarded by the SAS `sig`.

use super::state::Shared;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/blob/{container}", get(list))
        .route("/blob/{container}/{*name}", get(fetch))
}

fn azure_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}</Message></Error>",
        escape(message)
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// The refusal of a request for another container or without the right SAS `sig`.
fn refusal(sim: &Shared, container: &str, params: &HashMap<String, String>) -> Option<Response> {
    if container != sim.config.container_name {
        return Some(azure_error(
            StatusCode::NOT_FOUND,
            "ContainerNotFound",
            "The specified container does not exist.",
        ));
    }
    if params.get("sig").map(String::as_str) != Some(sim.config.sas_signature.expose()) {
        return Some(azure_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request.",
        ));
    }
    None
}

async fn list(
    State(sim): State<Arc<Shared>>,
    Path(container): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    sim.count_call("list_blobs");
    if let Some(r) = refusal(&sim, &container, &params) {
        return r;
    }
    if params.get("restype").map(String::as_str) != Some("container")
        || params.get("comp").map(String::as_str) != Some("list")
    {
        return azure_error(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "Expected restype=container&comp=list.",
        );
    }
    let prefix = params.get("prefix").cloned().unwrap_or_default();
    let marker = params.get("marker").cloned().unwrap_or_default();
    let page_size = sim.faults().blob_page_size.max(1);
    let max_results = params
        .get("maxresults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .map_or(page_size, |m| m.min(page_size));
    let state = sim.lock();
    // The marker is the name to resume at (Azure's markers are opaque; callers pass them back).
    let mut names = state
        .blobs
        .range(marker.clone()..)
        .filter(|(name, _)| name.starts_with(&prefix));
    let page: Vec<(&String, usize)> = names
        .by_ref()
        .take(max_results)
        .map(|(n, b)| (n, b.len()))
        .collect();
    let next = names.next().map(|(n, _)| n.clone()).unwrap_or_default();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = write!(
        xml,
        "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1/\" ContainerName=\"{}\">",
        escape(&container)
    );
    let _ = write!(
        xml,
        "<Prefix>{}</Prefix><Marker>{}</Marker><MaxResults>{max_results}</MaxResults><Blobs>",
        escape(&prefix),
        escape(&marker)
    );
    for (name, len) in page {
        let _ = write!(
            xml,
            "<Blob><Name>{}</Name><Properties><Content-Length>{len}</Content-Length>\
             <Content-Type>application/json</Content-Type><BlobType>BlockBlob</BlobType>\
             </Properties></Blob>",
            escape(name)
        );
    }
    let _ = write!(
        xml,
        "</Blobs><NextMarker>{}</NextMarker></EnumerationResults>",
        escape(&next)
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        xml,
    )
        .into_response()
}

async fn fetch(
    State(sim): State<Arc<Shared>>,
    Path((container, name)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    sim.count_call("fetch_blob");
    if let Some(r) = refusal(&sim, &container, &params) {
        return r;
    }
    let body = sim.lock().blobs.get(&name).cloned();
    match body {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        None => azure_error(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        ),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
