//! An evaluation as one JSON document: what `amap preview` prints and what `amap test`
//! compares with a mapping test's expectation. No IO: the caller reads the files.
//!
//! - A create template on a case:
//!   `{"template", "reference", "request", "contact", "udfs"}`: `request` is the CreateCase
//!   body exactly as it would be sent (UDFs written as `[udf_wire]` says; the service adds
//!   `contactId` and `attachments`), `contact` the fields of the contact to find or create,
//!   `udfs` the UDF values by code, read back from the body.
//! - Incoming templates on a snapshot: `{"reference", "templates", "writes"}`: `writes`
//!   maps `field.NAME` / `date.NAME` to the value written, in the order the writes are
//!   applied (a later template writing the same target wins, as it would in Connect).
//! - A validation failure: `{"template", "failure": {"location", "mapping", "reason"}}`.

use crate::plan::Bundle;
use crate::runtime::case::{CASE_KEYS, Case};
use crate::runtime::eval::{EvalFailure, PreparedBundle, WriteTarget};
use crate::schema::{ADDRESS_ATTRS, PERSON_ATTRS, UdfWire, UdfWireStyle};
use crate::syntax::ast::TemplateKind;
use jiff::Timestamp;
use serde_json::{Map, Value};

/// Why an evaluation could not be attempted at all (as opposed to a validation failure,
/// which is an outcome).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("the project has no template named \"{name}\"")]
    UnknownTemplate {
        name: String,
        /// The templates there are, in bundle order.
        known: Vec<String>,
    },
    #[error(
        "\"{name}\" is an incoming template: it maps an Aurora snapshot, so give one with --snapshot"
    )]
    NeedsSnapshot { name: String },
    #[error("{0}")]
    Prepare(String),
}

impl PreviewError {
    /// A help line for people: the closest template name, or the list of templates.
    pub fn help(&self) -> Option<String> {
        match self {
            PreviewError::UnknownTemplate { name, known } => {
                let close = known
                    .iter()
                    .map(|k| {
                        (
                            strsim::jaro_winkler(&k.to_lowercase(), &name.to_lowercase()),
                            k,
                        )
                    })
                    .filter(|(score, _)| *score > 0.8)
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                Some(match close {
                    Some((_, k)) => format!("did you mean \"{k}\"?"),
                    None if known.is_empty() => "the project has no templates".to_string(),
                    None => format!(
                        "the templates are: {}",
                        known
                            .iter()
                            .map(|k| format!("\"{k}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            _ => None,
        }
    }
}

/// Reads a case from its JSON form. Unknown keys (at the top, in `person`, in `address`)
/// are refused, so that a misspelt key is not silently a missing value.
pub fn read_case(value: Value) -> Result<Case, String> {
    let Value::Object(map) = &value else {
        return Err(format!(
            "a case is a JSON object, but this is {}",
            json_kind(&value)
        ));
    };
    unknown_key(map, CASE_KEYS, "")?;
    for (key, allowed) in [("person", PERSON_ATTRS), ("address", ADDRESS_ATTRS)] {
        if let Some(Value::Object(inner)) = map.get(key) {
            unknown_key(inner, allowed, key)?;
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn unknown_key(map: &Map<String, Value>, allowed: &[&str], within: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let place = if within.is_empty() {
                String::new()
            } else {
                format!(" in `{within}`")
            };
            Err(format!(
                "unknown key `{k}`{place} (the keys are {})",
                allowed.join(", ")
            ))
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Evaluates `template` of a bundle: without a snapshot, the create template on the case;
/// with one, the incoming templates of the template's reference (only `template` itself
/// when it is an incoming one) on the snapshot and the case.
pub fn evaluate(
    bundle: &Bundle,
    template: &str,
    case: &Case,
    snapshot: Option<&Value>,
    now: Timestamp,
) -> Result<Result<Value, EvalFailure>, PreviewError> {
    let Some(plan) = bundle.template(template) else {
        return Err(PreviewError::UnknownTemplate {
            name: template.to_string(),
            known: bundle.templates.iter().map(|t| t.name.clone()).collect(),
        });
    };
    match snapshot {
        None => {
            if plan.kind == TemplateKind::Incoming {
                return Err(PreviewError::NeedsSnapshot {
                    name: template.to_string(),
                });
            }
            let prepared = prepare(bundle)?;
            let id = prepared
                .template_id(template)
                .ok_or_else(|| PreviewError::Prepare(format!("\"{template}\" is not prepared")))?;
            Ok(prepared
                .create(id, case, now)
                .map(|r| create_json(&r, &prepared.udfs.wire)))
        }
        Some(snapshot) => {
            let only;
            let bundle = if plan.kind == TemplateKind::Incoming {
                only = Bundle {
                    templates: vec![plan.clone()],
                    ..bundle.clone()
                };
                &only
            } else {
                bundle
            };
            let prepared = prepare(bundle)?;
            let names: Vec<Value> = prepared
                .incoming_of(&plan.reference)
                .iter()
                .map(|&i| Value::String(prepared.templates[i].name.clone()))
                .collect();
            Ok(prepared
                .incoming(&plan.reference, snapshot, case, now)
                .map(|writes| {
                    let mut by_target = Map::new();
                    for w in writes {
                        let key = match w.target {
                            WriteTarget::Field(name) => format!("field.{name}"),
                            WriteTarget::Date(name) => format!("date.{name}"),
                        };
                        by_target.insert(key, w.value);
                    }
                    let mut out = Map::new();
                    out.insert("reference".into(), Value::String(plan.reference.clone()));
                    out.insert("templates".into(), Value::Array(names));
                    out.insert("writes".into(), Value::Object(by_target));
                    Value::Object(out)
                }))
        }
    }
}

fn prepare(bundle: &Bundle) -> Result<PreparedBundle, PreviewError> {
    PreparedBundle::new(bundle).map_err(|e| PreviewError::Prepare(e.to_string()))
}

fn create_json(r: &crate::runtime::eval::CreateRequest, wire: &UdfWire) -> Value {
    let mut out = Map::new();
    out.insert("template".into(), Value::String(r.template.clone()));
    out.insert("reference".into(), Value::String(r.reference.clone()));
    out.insert("request".into(), Value::Object(r.body.clone()));
    out.insert("contact".into(), Value::Object(r.contact.clone()));
    out.insert("udfs".into(), Value::Object(udfs_of(&r.body, wire)));
    Value::Object(out)
}

/// The UDF values of a CreateCase body by code, whichever way `[udf_wire]` writes them.
pub fn udfs_of(body: &Map<String, Value>, wire: &UdfWire) -> Map<String, Value> {
    let mut out = Map::new();
    match (body.get(&wire.field), wire.style) {
        (Some(Value::Array(items)), UdfWireStyle::List) => {
            for item in items {
                if let Some(code) = item.get(&wire.code_key).and_then(Value::as_str) {
                    let value = item.get(&wire.value_key).cloned().unwrap_or(Value::Null);
                    out.insert(code.to_string(), value);
                }
            }
        }
        (Some(Value::Object(m)), UdfWireStyle::Object) => out.clone_from(m),
        _ => {}
    }
    out
}

/// A validation failure in the document form.
pub fn failure_json(f: &EvalFailure) -> Value {
    let mut failure = Map::new();
    failure.insert("location".into(), Value::String(f.location.clone()));
    failure.insert("mapping".into(), Value::String(f.mapping.clone()));
    failure.insert("reason".into(), Value::String(f.reason.clone()));
    let mut out = Map::new();
    out.insert("template".into(), Value::String(f.template.clone()));
    out.insert("failure".into(), Value::Object(failure));
    Value::Object(out)
}

/// Pretty JSON with a trailing newline.
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_case_with_a_misspelt_key_is_refused() {
        let e = read_case(json!({"feilds": {}})).unwrap_err();
        assert!(
            e.starts_with("unknown key `feilds` (the keys are reference, type,"),
            "{e}"
        );
        let e = read_case(json!({"person": {"forname": "Ann"}})).unwrap_err();
        assert!(e.starts_with("unknown key `forname` in `person`"), "{e}");
        let e = read_case(json!([1])).unwrap_err();
        assert_eq!(e, "a case is a JSON object, but this is an array");
        let e = read_case(json!({"fields": "abc"})).unwrap_err();
        assert!(e.contains("invalid type: string \"abc\""), "{e}");
        let c = read_case(json!({"reference": "CAS-1", "address": {"easting": 1}})).unwrap();
        assert_eq!(c.reference, "CAS-1");
    }

    #[test]
    fn udfs_are_read_back_in_either_style() {
        let mut wire = UdfWire {
            field: "udfs".into(),
            style: UdfWireStyle::List,
            code_key: "code".into(),
            value_key: "value".into(),
            ..UdfWire::default()
        };
        let body = json!({"udfs": [{"code": "A", "value": 1}, {"code": "B", "value": "x"}]});
        let body = body.as_object().unwrap();
        assert_eq!(
            Value::Object(udfs_of(body, &wire)),
            json!({"A": 1, "B": "x"})
        );
        wire.style = UdfWireStyle::Object;
        let body = json!({"udfs": {"A": 1}});
        assert_eq!(
            Value::Object(udfs_of(body.as_object().unwrap(), &wire)),
            json!({"A": 1})
        );
        assert!(udfs_of(&Map::new(), &wire).is_empty());
    }

    #[test]
    fn an_unknown_template_suggests_the_closest_name() {
        let e = PreviewError::UnknownTemplate {
            name: "pothole reports".into(),
            known: vec!["Pothole report".into(), "Street light fault".into()],
        };
        assert_eq!(
            e.help().as_deref(),
            Some("did you mean \"Pothole report\"?")
        );
        let e = PreviewError::UnknownTemplate {
            name: "zzz".into(),
            known: vec!["A".into(), "B".into()],
        };
        assert_eq!(e.help().as_deref(), Some("the templates are: \"A\", \"B\""));
    }
}
