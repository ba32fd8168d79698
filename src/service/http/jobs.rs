//! `GET /v1/jobs/{id}` and `POST /v1/aurora/snapshots` (a relay pushing one return-path snapshot).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{JobIdPath, QueryPairs, read_body, shorten};
use crate::service::updates::{
    EnqueuedSnapshot, SnapshotRejected, enqueue_snapshot, pushed_snapshot_name,
};

/// `GET /v1/jobs/{id}`: the job's state, attempts, progress and last error.
pub(crate) async fn get_job(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> ApiResult<Json<Value>> {
    let job = state
        .ctx
        .store
        .get_job(id)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_job", format!("there is no job {id}")))?;
    Ok(Json(json!({ "job": job })))
}

/// Longest snapshot name accepted.
const MAX_NAME_CHARS: usize = 1024;

/// `POST /v1/aurora/snapshots[?name=BLOB]`: the snapshot JSON as the body → 202 with the update
/// job, or 200 when a snapshot of that name was processed before.
pub(crate) async fn push_snapshot(
    State(state): State<AppState>,
    query: QueryPairs,
    request: Request,
) -> ApiResult<Response> {
    query.check(&["name"])?;
    let name = query.get("name").map(str::to_owned);
    if let Some(name) = &name
        && (name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "the snapshot name {:?} is longer than {MAX_NAME_CHARS} characters or holds a control character",
                shorten(name)
            ),
        ));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the snapshot must be sent as JSON with `Content-Type: application/json`",
        ));
    }
    let bytes = read_body(request, &state, state.ctx.limits.max_body_bytes).await?;
    match enqueue_snapshot(&state.ctx.store, name.as_deref(), &bytes).await {
        Ok(EnqueuedSnapshot::Enqueued(job)) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "job": job,
                "name": name.unwrap_or_else(|| pushed_snapshot_name(&bytes)),
            })),
        )
            .into_response()),
        Ok(EnqueuedSnapshot::AlreadyProcessed) => Ok((
            StatusCode::OK,
            Json(json!({
                "job": null,
                "already_processed": true,
                "name": name.unwrap_or_else(|| pushed_snapshot_name(&bytes)),
            })),
        )
            .into_response()),
        Err(SnapshotRejected::Invalid(why)) => Err(ApiError::unprocessable(
            "invalid_snapshot",
            format!("the snapshot cannot be applied: {why}"),
        )),
        Err(SnapshotRejected::Store(err)) => Err(err.into()),
    }
}
