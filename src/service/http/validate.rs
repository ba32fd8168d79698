//! Checking request bodies against what a call takes, reporting every problem at once with its
//! JSON path (`$.fields.quantity`, `$.attachments[1].size`).
//!
//! A Connect case is checked against the model of [`crate::runtime::case`]: the members it has,
//! their JSON types, and the values read as their declared types (datetimes, address numbers)
//! with the same rule evaluation uses ([`from_json`]), so a case the API accepts is one the
//! templates can read.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{Detail, did_you_mean};
use crate::runtime::case::{AddressAttr, PersonAttr};
use crate::runtime::eval::value::{from_json, show_json};
use crate::schema::ScalarType;
use crate::service::store::CaseRecord;

/// The members of a case and of an attachment listed in it: those the case model reads.
pub(crate) use crate::runtime::case::{
    ATTACHMENT_KEYS as ATTACHMENT_MEMBERS, CASE_KEYS as CASE_MEMBERS,
};

/// The member of the stored body the integration keeps its own state in; kept across a PUT.
pub(crate) use crate::service::store::INTEGRATION_KEY as INTEGRATION_MEMBER;

/// Longest reference name accepted.
const MAX_REFERENCE_NAME: usize = 100;

/// Longest delay of an apply, in seconds (seven days).
pub(crate) const MAX_DELAY_SECONDS: u64 = 7 * 24 * 60 * 60;

/// `path.key`, or `path["key"]` when the key is not a plain name.
pub(crate) fn member(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

struct Problems(Vec<Detail>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Detail::new(path, message));
    }

    fn unknown(&mut self, path: &str, key: &str, known: &[&str], what: &str) {
        self.add(
            member(path, key),
            format!(
                "is not a member of {what}{}; {what} has {}",
                did_you_mean(key, known.iter().copied()),
                known.join(", ")
            ),
        );
    }

    /// Text or null.
    fn text<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            Value::Null => None,
            other => {
                self.add(path, format!("is {}, but text is expected", kind(other)));
                None
            }
        }
    }

    /// An object or null.
    fn object<'v>(&mut self, path: &str, v: &'v Value) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            Value::Null => None,
            other => {
                self.add(
                    path,
                    format!("is {}, but an object is expected", kind(other)),
                );
                None
            }
        }
    }

    /// A value read as `ty` by the evaluation rule.
    fn typed(&mut self, path: &str, v: &Value, ty: ScalarType) {
        if let Err(misfit) = from_json(v, ty) {
            self.add(path, misfit.to_string());
        }
    }
}

/// Checks a case sent to `PUT /v1/cases/{reference}` and turns it into the record to store:
/// the body keeps every member but `references`, which are stored apart (numbers as their text,
/// `null` leaving the reference as it is).
pub(crate) fn case_record(reference: &str, body: &Value) -> Result<CaseRecord, Vec<Detail>> {
    let mut p = Problems(Vec::new());
    let Value::Object(obj) = body else {
        return Err(vec![Detail::new(
            "$",
            format!("is {}, but a case is a JSON object", kind(body)),
        )]);
    };
    let mut case_type = String::new();
    let mut status = None;
    let mut references = BTreeMap::new();
    if !obj.contains_key("type") {
        p.add("$.type", "is required (the Connect case type)");
    }
    for (key, v) in obj {
        let path = member("$", key);
        match key.as_str() {
            "reference" => {
                if let Some(given) = p.text(&path, v)
                    && !given.is_empty()
                    && given != reference
                {
                    p.add(
                        &path,
                        format!(
                            "is {}, but the path names the case {}",
                            show_json(v),
                            show_json(&Value::String(reference.to_owned()))
                        ),
                    );
                }
            }
            "type" => match p.text(&path, v) {
                Some(t) if !t.trim().is_empty() => case_type = t.to_owned(),
                Some(_) => p.add(&path, "is empty; the Connect case type is required"),
                None if v.is_null() => p.add(&path, "is null; the Connect case type is required"),
                None => {}
            },
            "status" => status = p.text(&path, v).map(str::to_owned),
            "created_at" | "updated_at" => {
                if p.text(&path, v).is_some() {
                    p.typed(&path, v, ScalarType::Datetime);
                }
            }
            "fields" => {
                if let Some(fields) = p.object(&path, v) {
                    for (name, value) in fields {
                        if matches!(value, Value::Array(_) | Value::Object(_)) {
                            p.add(
                                member(&path, name),
                                format!(
                                    "is {}, but a field holds text, a number, true or false, or null",
                                    kind(value)
                                ),
                            );
                        }
                    }
                }
            }
            "dates" => {
                if let Some(dates) = p.object(&path, v) {
                    for (name, value) in dates {
                        let at = member(&path, name);
                        if p.text(&at, value).is_some()
                            && from_json(value, ScalarType::Date).is_err()
                            && from_json(value, ScalarType::Datetime).is_err()
                        {
                            p.add(
                                at,
                                format!(
                                    "holds {}, which is not a date (YYYY-MM-DD) or a datetime (RFC 3339)",
                                    show_json(value)
                                ),
                            );
                        }
                    }
                }
            }
            "person" => {
                if let Some(person) = p.object(&path, v) {
                    let known: Vec<&str> = PersonAttr::ALL.iter().map(|a| a.name()).collect();
                    for (name, value) in person {
                        if PersonAttr::from_name(name).is_some() {
                            p.text(&member(&path, name), value);
                        } else {
                            p.unknown(&path, name, &known, "a person");
                        }
                    }
                }
            }
            "address" => {
                if let Some(address) = p.object(&path, v) {
                    let known: Vec<&str> = AddressAttr::ALL.iter().map(|a| a.name()).collect();
                    for (name, value) in address {
                        let at = member(&path, name);
                        match AddressAttr::from_name(name) {
                            Some(AddressAttr::Uprn | AddressAttr::Usrn) => {
                                if matches!(
                                    value,
                                    Value::Bool(_) | Value::Array(_) | Value::Object(_)
                                ) {
                                    p.add(
                                        at,
                                        format!(
                                            "is {}, but text or a number is expected",
                                            kind(value)
                                        ),
                                    );
                                }
                            }
                            Some(attr) if attr.ty() == ScalarType::Number => {
                                p.typed(&at, value, ScalarType::Number)
                            }
                            Some(_) => {
                                p.text(&at, value);
                            }
                            None => p.unknown(&path, name, &known, "an address"),
                        }
                    }
                }
            }
            "references" => {
                if let Some(refs) = p.object(&path, v) {
                    for (name, value) in refs {
                        let at = member(&path, name);
                        if name.trim().is_empty() || name.chars().count() > MAX_REFERENCE_NAME {
                            p.add(
                                &at,
                                format!(
                                    "a reference name has 1 to {MAX_REFERENCE_NAME} characters"
                                ),
                            );
                            continue;
                        }
                        match value {
                            Value::Null => {}
                            Value::String(s) => {
                                references.insert(name.clone(), s.clone());
                            }
                            Value::Number(n) => {
                                references.insert(name.clone(), n.to_string());
                            }
                            other => p.add(
                                at,
                                format!(
                                    "is {}, but a reference holds text or a number",
                                    kind(other)
                                ),
                            ),
                        }
                    }
                }
            }
            "attachments" => match v {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let at = format!("{path}[{i}]");
                        let Value::Object(att) = item else {
                            p.add(
                                at,
                                format!("is {}, but an attachment is an object", kind(item)),
                            );
                            continue;
                        };
                        for (name, value) in att {
                            let inner = member(&at, name);
                            match name.as_str() {
                                "size" => {
                                    if !(value.is_u64() || value.is_null()) {
                                        p.add(
                                            inner,
                                            format!(
                                                "is {}, but a size is a whole number of bytes",
                                                show_json(value)
                                            ),
                                        );
                                    }
                                }
                                n if ATTACHMENT_MEMBERS.contains(&n) => {
                                    p.text(&inner, value);
                                }
                                _ => p.unknown(&at, name, ATTACHMENT_MEMBERS, "an attachment"),
                            }
                        }
                    }
                }
                other => p.add(&path, format!("is {}, but a list is expected", kind(other))),
            },
            // The integration's own state, as `GET` shows it: ignored here (the stored one is
            // kept), so that a case read back can be sent again as it is.
            INTEGRATION_MEMBER => {}
            _ => p.unknown("$", key, CASE_MEMBERS, "a case"),
        }
    }
    if !p.0.is_empty() {
        return Err(p.0);
    }
    let mut stored = obj.clone();
    stored.remove("references");
    stored.remove(INTEGRATION_MEMBER);
    stored.insert("reference".into(), Value::String(reference.to_owned()));
    Ok(CaseRecord {
        reference: reference.to_owned(),
        case_type,
        status,
        body: Value::Object(stored),
        references,
    })
}

/// The body of `POST /v1/cases/{ref}/apply`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApplyBody {
    pub template: String,
    pub delay_seconds: u64,
}

/// Checks an apply body.
pub(crate) fn apply_body(body: &Value) -> Result<ApplyBody, Vec<Detail>> {
    let mut p = Problems(Vec::new());
    let Value::Object(obj) = body else {
        return Err(vec![Detail::new(
            "$",
            format!(
                "is {}, but the body is an object: {{\"template\": \"…\", \"delay_seconds\": 60}}",
                kind(body)
            ),
        )]);
    };
    let mut template = None;
    let mut delay_seconds = 0;
    for (key, v) in obj {
        let path = member("$", key);
        match key.as_str() {
            "template" => match p.text(&path, v) {
                Some(t) if !t.trim().is_empty() => template = Some(t.to_owned()),
                Some(_) => p.add(&path, "is empty; name a create template"),
                None if v.is_null() => p.add(&path, "is null; name a create template"),
                None => {}
            },
            "delay_seconds" => match v {
                Value::Null => {}
                Value::Number(n) => match n.as_u64() {
                    Some(d) if d <= MAX_DELAY_SECONDS => delay_seconds = d,
                    _ => p.add(
                        &path,
                        format!(
                            "is {n}, but a delay is a whole number of seconds from 0 to {MAX_DELAY_SECONDS} (7 days)"
                        ),
                    ),
                },
                other => p.add(
                    &path,
                    format!("is {}, but a whole number of seconds is expected", kind(other)),
                ),
            },
            _ => p.unknown("$", key, &["template", "delay_seconds"], "an apply request"),
        }
    }
    if !obj.contains_key("template") {
        p.add("$.template", "is required (the name of a create template)");
    }
    match template {
        Some(template) if p.0.is_empty() => Ok(ApplyBody {
            template,
            delay_seconds,
        }),
        _ => Err(p.0),
    }
}

/// `"the case has 2 problems"`.
pub(crate) fn count(what: &str, details: &[Detail]) -> String {
    let n = details.len();
    format!("{what} has {n} problem{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(result: Result<CaseRecord, Vec<Detail>>) -> Vec<String> {
        result
            .expect_err("problems")
            .into_iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    #[test]
    fn a_good_case_becomes_a_record() {
        let record = case_record(
            "CAS-1",
            &json!({
                "type": "pothole",
                "status": "open",
                "created_at": "2025-12-02T09:46:56Z",
                "fields": {"depth": 7, "summary": "hole", "flag": true, "none": null},
                "dates": {"reported": "2025-12-02"},
                "person": {"forename": "Ann", "email": null},
                "address": {"uprn": 100023336956_i64, "easting": "412345.5"},
                "references": {"aurora_case": 12345, "other": "A-1", "unset": null},
                "attachments": [{"id": "1", "name": "a.jpg", "size": 10}]
            }),
        )
        .expect("valid");
        assert_eq!(record.case_type, "pothole");
        assert_eq!(record.status.as_deref(), Some("open"));
        assert_eq!(record.references.len(), 2);
        assert_eq!(record.references["aurora_case"], "12345");
        assert_eq!(record.body["reference"], "CAS-1");
        assert!(record.body.get("references").is_none());
        let read_back = case_record(
            "CAS-1",
            &json!({"type": "t", "integration": {"applied": {"r": "2025-12-02T10:00:00Z"}}}),
        )
        .expect("the integration member is accepted");
        assert!(
            read_back.body.get(INTEGRATION_MEMBER).is_none(),
            "and not taken from the client"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let problems = paths(case_record(
            "CAS-1",
            &json!({
                "reference": "CAS-2",
                "feilds": {},
                "fields": {"a": [1], "odd key": {}},
                "dates": {"reported": "02/12/2025"},
                "created_at": "yesterday",
                "person": {"surname": 5, "nickname": "x"},
                "address": {"easting": "east", "uprn": true},
                "references": {"r": [1]},
                "attachments": [{"size": -1}, 3]
            }),
        ));
        assert_eq!(
            problems,
            [
                "$.type: is required (the Connect case type)",
                "$.reference: is \"CAS-2\", but the path names the case \"CAS-1\"",
                "$.feilds: is not a member of a case (did you mean \"fields\"?); a case has reference, type, status, created_at, updated_at, fields, dates, person, address, references, attachments",
                "$.fields.a: is a list, but a field holds text, a number, true or false, or null",
                "$.fields[\"odd key\"]: is an object, but a field holds text, a number, true or false, or null",
                "$.dates.reported: holds \"02/12/2025\", which is not a date (YYYY-MM-DD) or a datetime (RFC 3339)",
                "$.created_at: holds \"yesterday\", which is not a datetime (RFC 3339, e.g. 2025-12-02T09:46:56Z)",
                "$.person.surname: is a number, but text is expected",
                "$.person.nickname: is not a member of a person; a person has title, forename, middle_names, surname, full_name, email, phone, mobile",
                "$.address.easting: holds \"east\", which is not a number",
                "$.address.uprn: is true or false, but text or a number is expected",
                "$.references.r: is a list, but a reference holds text or a number",
                "$.attachments[0].size: is -1, but a size is a whole number of bytes",
                "$.attachments[1]: is a number, but an attachment is an object",
            ]
        );
    }

    #[test]
    fn apply_bodies() {
        assert_eq!(
            apply_body(&json!({"template": "Pothole report", "delay_seconds": 60})),
            Ok(ApplyBody {
                template: "Pothole report".into(),
                delay_seconds: 60
            })
        );
        let problems = apply_body(&json!({"delay_seconds": -5, "templat": "x"})).expect_err("bad");
        let shown: Vec<String> = problems.iter().map(|d| d.path.clone()).collect();
        assert_eq!(shown, ["$.delay_seconds", "$.templat", "$.template"]);
        assert!(apply_body(&json!({"template": "x", "delay_seconds": 1.5})).is_err());
        assert!(
            apply_body(&json!({"template": "x", "delay_seconds": MAX_DELAY_SECONDS + 1})).is_err()
        );
        assert!(apply_body(&json!(["x"])).is_err());
    }
}
