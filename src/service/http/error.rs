//! The one error shape of the API: `{"error": {"code", "message", "details"}}`.
//!
//! Every 4xx answer has it, including the ones for input axum itself refuses (a body over the
//! limit, a path segment that is not valid UTF-8): those are mapped in [`super::extract`]. A
//! database failure is a 503 with a generic message; the cause goes to the tracing log only.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::service::store::StoreError;

/// One problem of a request, with where it is (a JSON path such as `$.fields.quantity`, a
/// query parameter, a multipart part).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// Where the problem is.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Detail {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Detail {
        Detail {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Most details listed in one answer.
pub const MAX_DETAILS: usize = 100;

/// An error answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`invalid_json`, `unknown_case`, …).
    pub code: &'static str,
    /// The problem in words.
    pub message: String,
    /// Each problem with its place, when there are several.
    pub details: Vec<Detail>,
    /// Ask for a bearer key (`WWW-Authenticate`).
    pub challenge: bool,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            challenge: false,
        }
    }

    /// Adds the details: at most [`MAX_DETAILS`], then one saying how many more there are.
    pub fn with_details(mut self, mut details: Vec<Detail>) -> ApiError {
        if details.len() > MAX_DETAILS {
            let more = details.len() - MAX_DETAILS;
            details.truncate(MAX_DETAILS);
            details.push(Detail::new(
                "…",
                format!(
                    "and {more} more problem{}",
                    if more == 1 { "" } else { "s" }
                ),
            ));
        }
        self.details = details;
        self
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: the request is readable but its content is not acceptable.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404: the thing named does not exist.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 401 with `WWW-Authenticate: Bearer`; the same for a missing and a wrong key.
    pub fn unauthorized() -> ApiError {
        ApiError {
            challenge: true,
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid API key is required: send it as `Authorization: Bearer <key>`",
            )
        }
    }

    /// 413 naming the limit.
    pub fn too_large(what: &str, limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{what} is larger than the limit of {limit} bytes"),
        )
    }

    /// 503 for a store failure; the cause is logged, never answered.
    pub fn store(err: &StoreError) -> ApiError {
        tracing::error!(error = %err, "store error while answering a request");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the service's store is not available; try again later",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
            }
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError::store(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"amap\""),
            );
        }
        response
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `"did you mean …?"` for the closest of `candidates` to `given`, or nothing.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(given, c), c))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!(" (did you mean {c:?}?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_one_shape() {
        let err = ApiError::unprocessable("invalid_case", "the case has 1 problem")
            .with_details(vec![Detail::new("$.type", "is required")]);
        assert_eq!(
            err.body(),
            json!({"error": {"code": "invalid_case", "message": "the case has 1 problem",
                "details": [{"path": "$.type", "message": "is required"}]}})
        );
    }

    #[test]
    fn details_are_bounded() {
        let many = (0..250)
            .map(|i| Detail::new(format!("$.f{i}"), "bad"))
            .collect();
        let err =
            ApiError::unprocessable("invalid_case", "the case has 250 problems").with_details(many);
        assert_eq!(err.details.len(), MAX_DETAILS + 1);
        assert_eq!(err.details[MAX_DETAILS].message, "and 150 more problems");
    }

    #[test]
    fn suggestions_pick_the_closest_name() {
        assert_eq!(
            did_you_mean("Pothole reprot", ["Pothole report", "Street light fault"]),
            " (did you mean \"Pothole report\"?)"
        );
        assert_eq!(did_you_mean("zzz", ["Pothole report"]), "");
    }
}
