//! The simulated Cases API. Paths match case-insensitively (as ASP.NET routing does) and may
//! start with the System Code segment.

use super::problem::{VALIDATION_TITLE, field_problem, problem};
use super::rules::Problems;
use super::state::{Shared, StoredAttachment, StoredCase};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Bodies larger than this are refused before any check (the attachment limit is separate).
const BODY_LIMIT: usize = 256 * 1024 * 1024;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/{*path}", any(api))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

type Params = HashMap<String, String>;

async fn api(
    State(sim): State<Arc<Shared>>,
    Path(path): Path<String>,
    Query(params): Query<Params>,
    request: Request,
) -> Response {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let headers = request.headers().clone();
    if let Some(code) = sim.config.system_code.as_deref() {
        let in_path = segments
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case(code));
        if in_path {
            segments.remove(0);
        }
        let in_header = headers
            .get("x-system-code")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == code);
        let in_query = params.get("systemCode").is_some_and(|v| v == code);
        if !(in_path || in_header || in_query) {
            return field_problem(
                StatusCode::BAD_REQUEST,
                VALIDATION_TITLE,
                "systemCode",
                "The System Code is missing or unknown.",
            );
        }
    }
    let method = request.method().clone();
    let route = segments.iter().map(String::as_str).collect::<Vec<_>>();
    let endpoint = match (&method, route.as_slice()) {
        (&Method::GET, ["cases", "contact"]) => "find_contact",
        (&Method::POST, ["cases", "contact", "createcontact"]) => "create_contact",
        (&Method::POST, ["attachments"]) => "upload_attachment",
        (&Method::POST, ["cases", "case", "createcase"]) => "create_case",
        (&Method::POST, ["cases", "case", "addnote"]) => "add_note",
        (&Method::GET, ["cases", "case", "findbyexternalreference"])
            if sim.config.lookup_by_reference =>
        {
            "lookup_by_reference"
        }
        (&Method::GET, ["cases", "case", _]) if sim.config.read_back => "read_back",
        _ => {
            sim.count_call("unknown");
            return problem(StatusCode::NOT_FOUND, "Not Found", &Default::default());
        }
    };
    sim.count_call(endpoint);
    if !authorised(&sim, &headers) {
        sim.lock().counts.unauthorized += 1;
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    sim.latency().await;
    // Faults are drawn per request content (see `Shared::roll_for`), so a seed decides the fate
    // of each case's calls whatever order concurrent jobs arrive in.
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                &Default::default(),
            );
        }
    };
    let key = roll_key(endpoint, &parts.uri, &parts.headers, &bytes);
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    if sim.roll_for(sim.faults().failure_rate, b"fail", &key) {
        sim.lock().counts.injected_failures += 1;
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            &Default::default(),
        );
    }
    match endpoint {
        "find_contact" => find_contact(&sim, &params),
        "create_contact" => create_contact(&sim, &key, request).await,
        "upload_attachment" => upload(&sim, &key, request).await,
        "create_case" => create_case(&sim, &key, request).await,
        "add_note" => add_note(&sim, &key, &params, request).await,
        "lookup_by_reference" => lookup(&sim, &params),
        _ => read_back(&sim, route.last().copied().unwrap_or("")),
    }
}

/// What identifies a request for the fault draws: the call, its path and query, and its body —
/// except a multipart body, whose boundary changes on every send (uploads are keyed by the call
/// and the body's length).
fn roll_key(endpoint: &str, uri: &axum::http::Uri, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(endpoint.len() + body.len() + 64);
    key.extend_from_slice(endpoint.as_bytes());
    key.push(0);
    key.extend_from_slice(uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    key.push(0);
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if multipart {
        key.extend_from_slice(&body.len().to_le_bytes());
    } else {
        key.extend_from_slice(body);
    }
    key
}

fn authorised(sim: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| sim.token_valid(token.trim()))
}

async fn json_body(request: Request) -> Result<Value, Response> {
    let bytes = Bytes::from_request(request, &())
        .await
        .map_err(IntoResponse::into_response)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        field_problem(
            StatusCode::BAD_REQUEST,
            VALIDATION_TITLE,
            "$",
            &format!("The JSON value could not be read: {e}"),
        )
    })
}

fn invalid(problems: &Problems) -> Response {
    problem(StatusCode::BAD_REQUEST, VALIDATION_TITLE, problems)
}

/// Matching is loose (substring for e-mail, digits for phones) so that callers must pick the
/// exact match themselves, as with the real search.
fn find_contact(sim: &Shared, params: &Params) -> Response {
    let get = |k: &str| {
        params
            .get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let email = get("emailAddress").map(|e| e.to_lowercase());
    let mobile = get("mobilePhone").map(digits);
    let home = get("homePhone").map(digits);
    if email.is_none() && mobile.is_none() && home.is_none() {
        return field_problem(
            StatusCode::BAD_REQUEST,
            VALIDATION_TITLE,
            "emailAddress",
            "Give emailAddress, mobilePhone or homePhone.",
        );
    }
    let state = sim.lock();
    let found: Vec<Value> = state
        .contacts
        .iter()
        .filter(|c| {
            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
            let phone_hit = |k: &str, want: &Option<String>| {
                want.as_ref().is_some_and(|w| {
                    let have = digits(text(k).to_owned());
                    !have.is_empty() && (have.ends_with(w.trim_start_matches('0')) || have == *w)
                })
            };
            email
                .as_ref()
                .is_some_and(|e| text("emailAddress").to_lowercase().contains(e.as_str()))
                || phone_hit("mobilePhone", &mobile)
                || phone_hit("homePhone", &home)
        })
        .cloned()
        .collect();
    let total = found.len();
    Json(json!({"contacts": found, "totalCount": total, "pageNumber": 1, "pageSize": 50}))
        .into_response()
}

fn digits(s: String) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

async fn create_contact(sim: &Shared, key: &[u8], request: Request) -> Response {
    let body = match json_body(request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let problems = sim.config.rules.check_contact(&body);
    if !problems.is_empty() {
        return invalid(&problems);
    }
    let id = sim.lock().add_contact(body);
    if sim.roll_for(sim.faults().lost_response_rate, b"lose", key) {
        sim.lose_answer().await;
    }
    Json(json!({"contactId": id})).into_response()
}

async fn upload(sim: &Shared, key: &[u8], request: Request) -> Response {
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => {
            return field_problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "file",
                &format!("Send multipart/form-data with a part named file ({e})."),
            );
        }
    };
    let faults = sim.faults();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return field_problem(
                    StatusCode::BAD_REQUEST,
                    VALIDATION_TITLE,
                    "file",
                    &format!("The multipart body could not be read: {e}"),
                );
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let Some(file_name) = field
            .file_name()
            .map(str::to_owned)
            .filter(|n| !n.is_empty())
        else {
            return field_problem(
                StatusCode::BAD_REQUEST,
                VALIDATION_TITLE,
                "file",
                "The file part has no file name.",
            );
        };
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bare_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !faults.allowed_content_types.is_empty()
            && !faults
                .allowed_content_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&bare_type))
        {
            return field_problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "file",
                &format!("Files of type {bare_type} are not accepted."),
            );
        }
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return field_problem(
                    StatusCode::BAD_REQUEST,
                    VALIDATION_TITLE,
                    "file",
                    &format!("The file could not be read: {e}"),
                );
            }
        };
        if bytes.len() > faults.max_attachment_bytes {
            return field_problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                "file",
                &format!(
                    "The file is {} bytes; the limit is {} bytes.",
                    bytes.len(),
                    faults.max_attachment_bytes
                ),
            );
        }
        let id = {
            let mut state = sim.lock();
            let id = state.new_attachment_id();
            state.attachments.insert(
                id.clone(),
                StoredAttachment {
                    file_name,
                    content_type,
                    size: bytes.len(),
                },
            );
            state.counts.attachments += 1;
            id
        };
        if sim.roll_for(faults.lost_response_rate, b"lose", key) {
            sim.lose_answer().await;
        }
        return Json(Value::String(id)).into_response();
    }
    field_problem(
        StatusCode::BAD_REQUEST,
        VALIDATION_TITLE,
        "file",
        "The file field is required.",
    )
}

/// Checks `attachments: [{id, name}]` against the uploads. Without a name an attachment fails
/// the call, or (quirk off) is dropped silently; the kept list is returned.
fn check_attachments(sim: &Shared, body: &Value, problems: &mut Problems) -> Vec<Value> {
    let require_name = sim.faults().require_attachment_name;
    let state = sim.lock();
    let mut kept = Vec::new();
    let Some(raw) = body.get("attachments") else {
        return kept;
    };
    let Some(items) = raw.as_array() else {
        if !raw.is_null() {
            problems
                .entry("attachments".into())
                .or_default()
                .push("The attachments value must be a list.".into());
        }
        return kept;
    };
    for (i, item) in items.iter().enumerate() {
        let id = item.get("id").and_then(Value::as_str).unwrap_or("");
        if !state.attachments.contains_key(id) {
            problems
                .entry(format!("attachments[{i}].id"))
                .or_default()
                .push(format!("Attachment '{id}' does not exist."));
            continue;
        }
        let named = item
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.trim().is_empty());
        if named {
            kept.push(item.clone());
        } else if require_name {
            problems
                .entry(format!("attachments[{i}].name"))
                .or_default()
                .push("The name field is required.".into());
        }
    }
    kept
}

async fn create_case(sim: &Shared, key: &[u8], request: Request) -> Response {
    let mut body = match json_body(request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = sim.config.rules.check_create(&body);
    let kept = check_attachments(sim, &body, &mut problems);
    if let Some(contact) = body.get("contactId").filter(|c| !c.is_null())
        && !sim.lock().contact_exists(contact)
    {
        problems
            .entry("contactId".into())
            .or_default()
            .push(format!("Contact {contact} does not exist."));
    }
    if !problems.is_empty() {
        return invalid(&problems);
    }
    if let Some(map) = body.as_object_mut()
        && map.contains_key("attachments")
    {
        map.insert("attachments".into(), Value::Array(kept));
    }
    let case_number = {
        let mut state = sim.lock();
        let case_number = state.new_case_number();
        if let Some(reference) = body
            .get("externalReference")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            if state.by_reference.contains_key(reference) {
                state.counts.duplicates += 1;
            } else {
                state
                    .by_reference
                    .insert(reference.to_owned(), case_number.clone());
            }
        }
        let index = state.cases.len();
        state.cases.push(StoredCase {
            case_number: case_number.clone(),
            body,
            created: jiff::Timestamp::now(),
            notes: Vec::new(),
        });
        state.by_number.insert(case_number.clone(), index);
        state.counts.cases += 1;
        case_number
    };
    if sim.roll_for(sim.faults().lost_response_rate, b"lose", key) {
        sim.lose_answer().await;
    }
    Json(json!({"caseNumber": case_number})).into_response()
}

async fn add_note(sim: &Shared, key: &[u8], params: &Params, request: Request) -> Response {
    let case_number = params.get("caseNumber").cloned().unwrap_or_default();
    let body = match json_body(request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut problems = Problems::new();
    let text = body.get("noteText").and_then(Value::as_str).unwrap_or("");
    if text.trim().is_empty() {
        problems
            .entry("noteText".into())
            .or_default()
            .push("The noteText field is required.".into());
    }
    let kept = check_attachments(sim, &body, &mut problems);
    if !problems.is_empty() {
        return invalid(&problems);
    }
    {
        let mut state = sim.lock();
        let Some(index) = state.by_number.get(&case_number).copied() else {
            return field_problem(
                StatusCode::NOT_FOUND,
                "Not Found",
                "caseNumber",
                &format!("Case '{case_number}' does not exist."),
            );
        };
        let mut note = Map::new();
        note.insert("noteText".into(), text.into());
        note.insert("attachments".into(), Value::Array(kept));
        if let Some(case) = state.cases.get_mut(index) {
            case.notes.push(Value::Object(note));
        }
        state.counts.notes += 1;
    }
    if sim.roll_for(sim.faults().lost_response_rate, b"lose", key) {
        sim.lose_answer().await;
    }
    StatusCode::OK.into_response()
}

/// Unverified: no lookup by `externalReference` is known to exist in Aurora.
fn lookup(sim: &Shared, params: &Params) -> Response {
    let reference = params
        .get("externalReference")
        .map(String::as_str)
        .unwrap_or("");
    let state = sim.lock();
    match state.by_reference.get(reference) {
        Some(n) => Json(json!({"caseNumber": n})).into_response(),
        None => field_problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            "externalReference",
            "No case has this external reference.",
        ),
    }
}

/// Unverified: no read-back call is known; the simulator answers the stored request.
fn read_back(sim: &Shared, case_number: &str) -> Response {
    let state = sim.lock();
    let found = state
        .by_number
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(case_number))
        .and_then(|(_, i)| state.cases.get(*i));
    match found {
        Some(case) => {
            let mut body = case.body.as_object().cloned().unwrap_or_default();
            body.insert("caseNumber".into(), case.case_number.clone().into());
            Json(Value::Object(body)).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "Not Found", &Default::default()),
    }
}
