//! How a failed Aurora call is classified: retry it, or not.

use serde_json::Value;
use std::fmt;

/// The Aurora call that failed, for messages and for the lost-answer rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    TokenGrant,
    FindContact,
    CreateContact,
    UploadAttachment,
    CreateCase,
    AddNote,
    LookupByReference,
    ReadBack,
    ListBlobs,
    FetchBlob,
}

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::TokenGrant => "token grant",
            Call::FindContact => "find contact",
            Call::CreateContact => "create contact",
            Call::UploadAttachment => "upload attachment",
            Call::CreateCase => "CreateCase",
            Call::AddNote => "AddNote",
            Call::LookupByReference => "case lookup by external reference",
            Call::ReadBack => "case read-back",
            Call::ListBlobs => "blob listing",
            Call::FetchBlob => "blob fetch",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One field's messages from a validation answer (`errors: {Field: [msg]}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub messages: Vec<String>,
}

/// A failed Aurora call. Messages never hold a secret, a URL or a request body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuroraError {
    /// Worth retrying later: connection refused or reset, timeout, 5xx, 408, 429.
    #[error("{call} failed, will retry: {message}")]
    Transient {
        call: Call,
        status: Option<u16>,
        message: String,
    },
    /// The request was sent but no answer came (a timeout or a dropped connection after
    /// sending). For CreateCase the case may exist: look it up before sending it again.
    #[error("{call} sent but its answer was lost: {message}")]
    LostAnswer { call: Call, message: String },
    /// Aurora refused the content (400, 413, 415, 422): never retried.
    #[error("{call} rejected ({status}): {}", render_validation(.title, .problems))]
    Validation {
        call: Call,
        status: u16,
        title: String,
        problems: Vec<FieldProblem>,
    },
    /// The grant failed for its credentials, or the Cases API refused a fresh token.
    #[error("{call}: authentication failed: {message}")]
    Authentication { call: Call, message: String },
    /// Any other answer the client cannot use (404 on a configured path, a body it cannot read).
    #[error("{call}: unexpected answer{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Unexpected {
        call: Call,
        status: Option<u16>,
        message: String,
    },
    /// The settings cannot work (a base URL that does not parse, a feature not configured).
    #[error("Aurora settings: {0}")]
    Settings(String),
}

fn render_validation(title: &str, problems: &[FieldProblem]) -> String {
    let mut out = title.to_owned();
    for p in problems {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&p.field);
        out.push_str(": ");
        out.push_str(&p.messages.join(" "));
    }
    if out.is_empty() {
        out.push_str("no reason given");
    }
    out
}

impl AuroraError {
    /// True for failures that a later attempt may cure (including a lost answer, which is
    /// retried after the duplicate check).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuroraError::Transient { .. } | AuroraError::LostAnswer { .. }
        )
    }

    /// True when a request may have taken effect without the caller learning its answer.
    pub fn is_lost_answer(&self) -> bool {
        matches!(self, AuroraError::LostAnswer { .. })
    }

    pub fn is_validation(&self) -> bool {
        matches!(self, AuroraError::Validation { .. })
    }

    pub fn is_authentication(&self) -> bool {
        matches!(self, AuroraError::Authentication { .. })
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AuroraError::Transient { status, .. } | AuroraError::Unexpected { status, .. } => {
                *status
            }
            AuroraError::Validation { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Classifies a transport error (no HTTP answer). `sent` tells whether the request may
    /// have reached the server; for CreateCase that makes it a lost answer.
    pub(crate) fn from_transport(call: Call, err: reqwest::Error) -> AuroraError {
        let err = err.without_url();
        let message = describe_transport(&err);
        let maybe_sent = !err.is_connect() && !err.is_builder();
        if err.is_builder() {
            return AuroraError::Settings(format!("{call}: {message}"));
        }
        if call == Call::CreateCase && maybe_sent {
            return AuroraError::LostAnswer { call, message };
        }
        AuroraError::Transient {
            call,
            status: None,
            message,
        }
    }

    /// Classifies an HTTP answer that is not a success.
    pub(crate) fn from_status(call: Call, status: u16, body: &[u8]) -> AuroraError {
        match status {
            408 | 429 | 500..=599 => AuroraError::Transient {
                call,
                status: Some(status),
                message: format!("HTTP {status}{}", short_reason(body)),
            },
            400 | 413 | 415 | 422 => {
                let (title, problems) = parse_problem(status, body);
                AuroraError::Validation {
                    call,
                    status,
                    title,
                    problems,
                }
            }
            401 | 403 => AuroraError::Authentication {
                call,
                message: format!("HTTP {status}{}", short_reason(body)),
            },
            _ => AuroraError::Unexpected {
                call,
                status: Some(status),
                message: format!("HTTP {status}{}", short_reason(body)),
            },
        }
    }
}

fn describe_transport(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "connection failed"
    };
    let mut detail = String::new();
    let mut source = err.source();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({detail})")
    }
}

/// `": reason"` from a JSON error body (ProblemDetails `title`/`detail` or OAuth
/// `error_description`), else the first line of a short text body.
fn short_reason(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        for key in ["detail", "title", "error_description", "error", "message"] {
            if let Some(s) = v.get(key).and_then(Value::as_str)
                && !s.is_empty()
            {
                return format!(": {}", clip(s));
            }
        }
        return String::new();
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() || line.starts_with('<') {
        String::new()
    } else {
        format!(": {}", clip(line))
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Reads an ASP.NET ProblemDetails body (`title`, `detail`, `errors: {Field: [msg]}`); any other
/// body gives its first line as the title.
pub(crate) fn parse_problem(status: u16, body: &[u8]) -> (String, Vec<FieldProblem>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let reason = short_reason(body);
        let title = reason.trim_start_matches(": ").to_owned();
        return (
            if title.is_empty() {
                format!("HTTP {status}")
            } else {
                title
            },
            Vec::new(),
        );
    };
    let mut title = v
        .get("title")
        .and_then(Value::as_str)
        .map(clip)
        .unwrap_or_default();
    if let Some(detail) = v.get("detail").and_then(Value::as_str)
        && !detail.is_empty()
    {
        if !title.is_empty() {
            title.push_str(": ");
        }
        title.push_str(&clip(detail));
    }
    let mut problems = Vec::new();
    match v.get("errors") {
        Some(Value::Object(map)) => {
            for (field, msgs) in map {
                let messages = match msgs {
                    Value::Array(items) => items
                        .iter()
                        .map(|m| m.as_str().map(clip).unwrap_or_else(|| m.to_string()))
                        .collect(),
                    Value::String(s) => vec![clip(s)],
                    other => vec![other.to_string()],
                };
                problems.push(FieldProblem {
                    field: field.clone(),
                    messages,
                });
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                let text = item.as_str().map(clip).unwrap_or_else(|| item.to_string());
                problems.push(FieldProblem {
                    field: String::new(),
                    messages: vec![text],
                });
            }
        }
        _ => {}
    }
    if title.is_empty() && problems.is_empty() {
        title = short_reason(body).trim_start_matches(": ").to_owned();
        if title.is_empty() {
            title = format!("HTTP {status}");
        }
    }
    (title, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_details_are_readable() {
        let body = br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title":"One or more validation errors occurred.","status":400,
            "errors":{"description":["The field description must be a string with a maximum length of 10."],
                      "caseTypeCode":["The caseTypeCode field is required."]}}"#;
        let err = AuroraError::from_status(Call::CreateCase, 400, body);
        assert!(err.is_validation());
        assert!(!err.is_transient());
        let text = err.to_string();
        assert_eq!(
            text,
            "CreateCase rejected (400): One or more validation errors occurred.; \
             description: The field description must be a string with a maximum length of 10.; \
             caseTypeCode: The caseTypeCode field is required."
        );
    }

    #[test]
    fn statuses_are_classified() {
        for s in [408, 429, 500, 502, 503] {
            assert!(
                AuroraError::from_status(Call::AddNote, s, b"").is_transient(),
                "{s}"
            );
        }
        for s in [400, 413, 415, 422] {
            assert!(
                AuroraError::from_status(Call::AddNote, s, b"").is_validation(),
                "{s}"
            );
        }
        assert!(AuroraError::from_status(Call::AddNote, 401, b"").is_authentication());
        let other = AuroraError::from_status(Call::AddNote, 404, b"not here");
        assert!(!other.is_transient());
        assert_eq!(
            other.to_string(),
            "AddNote: unexpected answer (404): HTTP 404: not here"
        );
    }
}
