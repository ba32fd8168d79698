//! ASP.NET-style error answers (unverified: the shape Aurora likely uses).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `application/problem+json` with `title`, `status` and, when given, `errors: {field: [msg]}`.
pub(crate) fn problem(
    status: StatusCode,
    title: &str,
    errors: &BTreeMap<String, Vec<String>>,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "type".into(),
        Value::from(format!(
            "https://tools.ietf.org/html/rfc9110#section-15.{}",
            section(status)
        )),
    );
    body.insert("title".into(), title.into());
    body.insert("status".into(), status.as_u16().into());
    if !errors.is_empty() {
        body.insert("errors".into(), json!(errors));
    }
    (
        status,
        [(
            header::CONTENT_TYPE,
            "application/problem+json; charset=utf-8",
        )],
        Value::Object(body).to_string(),
    )
        .into_response()
}

/// A problem with a single field message.
pub(crate) fn field_problem(
    status: StatusCode,
    title: &str,
    field: &str,
    message: &str,
) -> Response {
    let mut errors = BTreeMap::new();
    errors.insert(field.to_owned(), vec![message.to_owned()]);
    problem(status, title, &errors)
}

pub(crate) const VALIDATION_TITLE: &str = "One or more validation errors occurred.";

fn section(status: StatusCode) -> String {
    match status.as_u16() {
        s @ 400..=499 => format!("5.{}", s - 399),
        s @ 500..=599 => format!("6.{}", s - 499),
        _ => "5.1".into(),
    }
}
