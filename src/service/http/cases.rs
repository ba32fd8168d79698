//! `/v1/cases/{ref}`: store a Connect case, read it back as the integration left it, store its
//! files, and apply a create template to it.

use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult, Detail, did_you_mean};
use super::extract::{CaseRef, JsonBody, shorten};
use super::validate::{self, INTEGRATION_MEMBER};
use crate::service::payload::ApplyJob;
use crate::service::store::{CaseRead, JobKind, StoreError, after};
use crate::syntax::ast::TemplateKind;

/// The answer for a stored case: the case as Connect sent it with what the integration wrote
/// back (fields, dates, references), its stored files and its times.
async fn case_view(state: &AppState, read: CaseRead) -> ApiResult<Value> {
    let stored = read.case;
    let attachments = if read.attachments == 0 {
        Vec::new()
    } else {
        state
            .ctx
            .store
            .list_attachments(&stored.case.reference)
            .await?
    };
    let mut case = match stored.case.body {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("body".into(), other);
            map
        }
    };
    case.insert(
        "reference".into(),
        Value::String(stored.case.reference.clone()),
    );
    case.insert("type".into(), Value::String(stored.case.case_type.clone()));
    case.insert(
        "status".into(),
        stored
            .case
            .status
            .clone()
            .map_or(Value::Null, Value::String),
    );
    case.insert("references".into(), json!(stored.case.references));
    Ok(json!({
        "case": case,
        "attachments": attachments,
        "created_at": stored.created_at.to_string(),
        "updated_at": stored.updated_at.to_string(),
    }))
}

fn unknown_case(reference: &str) -> ApiError {
    ApiError::not_found(
        "unknown_case",
        format!(
            "there is no case {:?}; store it first with PUT /v1/cases/{{ref}}",
            shorten(reference)
        ),
    )
}

/// `PUT /v1/cases/{ref}`: creates or replaces the case (references it does not name are kept).
pub(crate) async fn put_case(
    State(state): State<AppState>,
    CaseRef(reference): CaseRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let record = validate::case_record(&reference, &body).map_err(|details| {
        ApiError::unprocessable("invalid_case", validate::count("the case", &details))
            .with_details(details)
    })?;
    let store = &state.ctx.store;
    // The integration's own state (for example the newest snapshot applied) is not Connect's to
    // replace; the store keeps it even when a snapshot is applied during this request.
    let (created, stored) = store.put_case_keeping(&record, INTEGRATION_MEMBER).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(case_view(&state, stored).await?)).into_response())
}

/// `GET /v1/cases/{ref}`.
pub(crate) async fn get_case(
    State(state): State<AppState>,
    CaseRef(reference): CaseRef,
) -> ApiResult<Json<Value>> {
    let stored = state
        .ctx
        .store
        .read_case(&reference)
        .await?
        .ok_or_else(|| unknown_case(&reference))?;
    Ok(Json(case_view(&state, stored).await?))
}

fn bad_multipart(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_multipart", message)
}

/// Checks a file name from a multipart part.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the file part's filename is empty".into());
    }
    if name.chars().count() > 255 {
        return Err("the file part's filename is longer than 255 characters".into());
    }
    if name.chars().any(char::is_control) || name.contains(['/', '\\']) {
        return Err(format!(
            "the filename {:?} contains a path separator or a control character",
            shorten(name)
        ));
    }
    Ok(())
}

/// Checks a MIME type (`type/subtype`, optional parameters).
fn check_content_type(content_type: &str) -> Result<(), String> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let valid_token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match essence.split_once('/') {
        Some((kind, sub)) if valid_token(kind) && valid_token(sub) => Ok(()),
        _ => Err(format!(
            "the file part's content type {:?} is not a MIME type such as image/jpeg",
            shorten(content_type)
        )),
    }
}

/// `POST /v1/cases/{ref}/attachments`: one multipart part with a filename and a content type.
pub(crate) async fn post_attachment(
    State(state): State<AppState>,
    CaseRef(reference): CaseRef,
    request: Request,
) -> ApiResult<Response> {
    let store = &state.ctx.store;
    if store.get_case(&reference).await?.is_none() {
        return Err(unknown_case(&reference));
    }
    let limit = state
        .ctx
        .limits
        .max_attachment_bytes
        .min(usize::try_from(store.config().max_attachment_bytes).unwrap_or(usize::MAX));
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|rejection| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "the body must be multipart/form-data with one file part: {}",
                    rejection.body_text()
                ),
            )
        })?;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::too_large("the file", limit));
            }
            Err(e) => {
                return Err(bad_multipart(format!(
                    "the multipart body is not readable: {}",
                    e.body_text()
                )));
            }
        };
        let part = field.name().unwrap_or("").to_owned();
        let Some(name) = field.file_name().map(str::to_owned) else {
            return Err(bad_multipart(format!(
                "the part {part:?} has no filename; send exactly one file part (Content-Disposition: form-data; name=\"file\"; filename=\"…\")"
            )));
        };
        if file.is_some() {
            return Err(bad_multipart(
                "the body has more than one file part; send one file per request",
            ));
        }
        check_file_name(&name).map_err(bad_multipart)?;
        let raw_type = field
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let Some(content_type) = raw_type else {
            return Err(bad_multipart(format!(
                "the file part {:?} has no Content-Type; give the file's MIME type",
                shorten(&name)
            )));
        };
        check_content_type(&content_type).map_err(bad_multipart)?;
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return Err(ApiError::too_large("the file", limit));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(ApiError::too_large("the file", limit));
                }
                Err(e) => {
                    return Err(bad_multipart(format!(
                        "the file part is not readable: {}",
                        e.body_text()
                    )));
                }
            }
        }
        file = Some((name, content_type, bytes));
    }
    let Some((name, content_type, bytes)) = file else {
        return Err(bad_multipart(
            "the body has no file part; send one part with a filename and a Content-Type",
        ));
    };
    let id = match store
        .add_attachment(&reference, &name, &content_type, &bytes)
        .await
    {
        Ok(id) => id,
        Err(StoreError::UnknownCase(_)) => return Err(unknown_case(&reference)),
        Err(StoreError::AttachmentTooLarge { max, .. }) => {
            return Err(ApiError::too_large(
                "the file",
                usize::try_from(max).unwrap_or(usize::MAX),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let meta = store
        .list_attachments(&reference)
        .await?
        .into_iter()
        .find(|m| m.id == id);
    Ok((StatusCode::CREATED, Json(json!({ "attachment": meta }))).into_response())
}

/// `POST /v1/cases/{ref}/apply`: enqueues a create job → 202 `{"job": id, "run_at": …}`.
pub(crate) async fn apply(
    State(state): State<AppState>,
    CaseRef(reference): CaseRef,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let body = validate::apply_body(&body).map_err(|details| {
        ApiError::unprocessable(
            "invalid_apply",
            validate::count("the apply request", &details),
        )
        .with_details(details)
    })?;
    let store = &state.ctx.store;
    let plans = &state.ctx.plans;
    let creates: Vec<&str> = plans
        .templates
        .iter()
        .filter(|t| t.kind == TemplateKind::Create)
        .map(|t| t.name.as_str())
        .collect();
    let template_path = "$.template";
    match plans
        .template_id(&body.template)
        .map(|id| plans.template(id))
    {
        None => {
            return Err(ApiError::unprocessable(
                "unknown_template",
                format!(
                    "there is no template {:?}{}",
                    shorten(&body.template),
                    did_you_mean(&body.template, creates.iter().copied())
                ),
            )
            .with_details(vec![Detail::new(
                template_path,
                format!("the create templates are: {}", creates.join(", ")),
            )]));
        }
        Some(t) if t.kind != TemplateKind::Create => {
            return Err(ApiError::unprocessable(
                "not_a_create_template",
                format!(
                    "{:?} is an incoming template (it writes Connect fields from Aurora); only a create template can be applied to a case",
                    t.name
                ),
            )
            .with_details(vec![Detail::new(
                template_path,
                format!("the create templates are: {}", creates.join(", ")),
            )]));
        }
        Some(_) => {}
    }
    let payload = ApplyJob {
        case_ref: reference.clone(),
        template: body.template,
    };
    let payload = serde_json::to_value(&payload).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("job payload: {e}"),
        )
    })?;
    let run_at = after(Timestamp::now(), Duration::from_secs(body.delay_seconds));
    // The case must be stored; checked in the statement that enqueues.
    let job = store
        .enqueue_for_case(&reference, JobKind::Create, &payload, run_at)
        .await?
        .ok_or_else(|| unknown_case(&reference))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"job": job, "run_at": run_at.to_string()})),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_types() {
        assert!(check_file_name("photo 1.jpg").is_ok());
        assert!(check_file_name("").is_err());
        assert!(check_file_name("../etc/passwd").is_err());
        assert!(check_content_type("image/jpeg").is_ok());
        assert!(check_content_type("text/plain; charset=utf-8").is_ok());
        assert!(check_content_type("jpeg").is_err());
        assert!(check_content_type("image/").is_err());
    }
}
