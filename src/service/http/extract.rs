//! Request extractors whose refusals are [`ApiError`]s: a JSON body, the `{ref}` and `{id}` path
//! parameters and query parameters. axum's own rejections (plain text) never reach a client.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, Detail};
use crate::service::store::JobId;

/// Longest case reference accepted.
pub(crate) const MAX_REF_CHARS: usize = 200;

/// A JSON body, parsed but not yet checked against what the call expects.
pub(crate) struct JsonBody(pub Value);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, mapping a body over the limit to 413 naming the limit.
pub(crate) async fn read_body(
    request: Request,
    state: &AppState,
    limit: usize,
) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("the request body", limit)
            } else {
                ApiError::bad_request(
                    "unreadable_body",
                    format!(
                        "the request body could not be read: {}",
                        rejection.body_text()
                    ),
                )
            }
        })
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match content_type {
            Some(ct) if is_json(&ct) => {}
            Some(ct) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!(
                        "the body must be JSON sent with `Content-Type: application/json`, not {ct:?}"
                    ),
                ));
            }
            None => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body must be JSON sent with `Content-Type: application/json`; the request has no Content-Type",
                ));
            }
        }
        let bytes = read_body(request, state, state.ctx.limits.max_body_bytes).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "invalid_json",
                "the request body is empty; a JSON object is expected",
            ));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::bad_request(
                "invalid_json",
                format!("the request body is not valid JSON: {e}"),
            )
        })
    }
}

/// The `{ref}` path parameter: a Connect case reference.
pub(crate) struct CaseRef(pub String);

/// Checks a case reference; the problem in words when it is not one.
pub(crate) fn check_case_ref(reference: &str) -> Result<(), String> {
    if reference.trim().is_empty() {
        return Err("a case reference cannot be empty".into());
    }
    if reference.chars().count() > MAX_REF_CHARS {
        return Err(format!(
            "a case reference has at most {MAX_REF_CHARS} characters"
        ));
    }
    if reference.chars().any(char::is_control) {
        return Err("a case reference cannot contain control characters".into());
    }
    if reference != reference.trim() {
        return Err("a case reference cannot start or end with spaces".into());
    }
    Ok(())
}

impl FromRequestParts<AppState> for CaseRef {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(reference) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(
                    "invalid_path",
                    format!(
                        "the case reference in the path is not readable: {}",
                        rejection.body_text()
                    ),
                )
            })?;
        check_case_ref(&reference)
            .map_err(|why| ApiError::bad_request("invalid_case_reference", why))?;
        Ok(CaseRef(reference))
    }
}

/// The `{id}` path parameter: a job id.
pub(crate) struct JobIdPath(pub JobId);

impl FromRequestParts<AppState> for JobIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(
                    "invalid_path",
                    format!(
                        "the job id in the path is not readable: {}",
                        rejection.body_text()
                    ),
                )
            })?;
        match text.parse::<i64>() {
            Ok(id) if id > 0 => Ok(JobIdPath(JobId(id))),
            _ => Err(ApiError::bad_request(
                "invalid_job_id",
                format!(
                    "{:?} is not a job id; a job id is a positive whole number",
                    shorten(&text)
                ),
            )),
        }
    }
}

/// The query parameters, in order, percent-decoded.
pub(crate) struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(QueryPairs)
            .map_err(|e| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("the query string is not readable: {e}"),
                )
            })
    }
}

impl QueryPairs {
    /// Refuses parameters other than `allowed`, and any given twice.
    pub(crate) fn check(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let mut details = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &self.0 {
            if !allowed.contains(&name.as_str()) {
                details.push(Detail::new(
                    name.clone(),
                    format!(
                        "unknown query parameter{}; this call takes {}",
                        super::error::did_you_mean(name, allowed.iter().copied()),
                        allowed.join(", ")
                    ),
                ));
            } else if !seen.insert(name.as_str()) {
                details.push(Detail::new(name.clone(), "is given more than once"));
            }
        }
        if details.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_request(
                "invalid_query",
                format!(
                    "the query string has {} problem{}",
                    details.len(),
                    if details.len() == 1 { "" } else { "s" }
                ),
            )
            .with_details(details))
        }
    }

    /// The value of `name`, if given and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Text shortened for a message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    #[test]
    fn case_references() {
        assert!(check_case_ref("CAS-000123").is_ok());
        assert!(check_case_ref("").is_err());
        assert!(check_case_ref(" x").is_err());
        assert!(check_case_ref("a\u{7}b").is_err());
        assert!(check_case_ref(&"x".repeat(MAX_REF_CHARS + 1)).is_err());
    }
}
