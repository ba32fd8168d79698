//! CreateCase and CreateContact validation, derived from an Aurora schema. The messages mimic
//! ASP.NET model validation (unverified: Aurora's real messages are not public).

use crate::schema::{AuroraField, AuroraSchema, ScalarType, Udf, UdfWire, UdfWireStyle};
use serde_json::Value;
use std::collections::BTreeMap;

/// One body field's rule.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRule {
    pub name: String,
    pub ty: ScalarType,
    pub required: bool,
    pub max_length: Option<u32>,
    /// Allowed values of a choice field (empty: any).
    pub values: Vec<String>,
}

impl FieldRule {
    fn from_field(f: &AuroraField) -> FieldRule {
        FieldRule {
            name: f.name.clone(),
            ty: f.ty,
            required: f.required,
            max_length: f.max_length,
            values: f.values.clone(),
        }
    }
}

/// One UDF's rule.
#[derive(Clone, Debug, PartialEq)]
pub struct UdfRule {
    pub code: String,
    pub ty: ScalarType,
    pub max_length: Option<u32>,
    pub values: Vec<String>,
}

impl UdfRule {
    fn from_udf(u: &Udf) -> UdfRule {
        UdfRule {
            code: u.code.clone(),
            ty: u.ty,
            max_length: u.max_length,
            values: u.values.clone(),
        }
    }
}

/// The rules CreateCase and CreateContact bodies are checked against. The default has none:
/// any object is accepted (unknown keys are always ignored, as ASP.NET does).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseRules {
    pub create: Vec<FieldRule>,
    pub contact: Vec<FieldRule>,
    pub udfs: Vec<UdfRule>,
    pub udf_wire: UdfWire,
}

/// Field name → messages, as ProblemDetails `errors` holds them.
pub type Problems = BTreeMap<String, Vec<String>>;

impl CaseRules {
    pub fn from_schema(schema: &AuroraSchema) -> CaseRules {
        CaseRules {
            create: schema.create.iter().map(FieldRule::from_field).collect(),
            contact: schema.contact.iter().map(FieldRule::from_field).collect(),
            udfs: schema.udfs.iter().map(UdfRule::from_udf).collect(),
            udf_wire: schema.udf_wire.clone(),
        }
    }

    /// Problems of a CreateCase body (fields and UDFs; attachments and the contact are checked
    /// against the simulator's state elsewhere).
    pub fn check_create(&self, body: &Value) -> Problems {
        let mut problems = check_fields(&self.create, body);
        if !self.udfs.is_empty()
            && let Some(raw) = body.get(&self.udf_wire.field)
        {
            self.check_udfs(&mut problems, raw);
        }
        problems
    }

    /// Problems of a CreateContact body.
    pub fn check_contact(&self, body: &Value) -> Problems {
        check_fields(&self.contact, body)
    }

    fn check_udfs(&self, problems: &mut Problems, raw: &Value) {
        let wire = &self.udf_wire;
        let shape_ok = match wire.style {
            UdfWireStyle::List => raw.is_array(),
            UdfWireStyle::Object => raw.is_object(),
        };
        if !shape_ok && !raw.is_null() {
            add(problems, &wire.field, "The value has the wrong shape.");
            return;
        }
        for (i, item) in raw.as_array().into_iter().flatten().enumerate() {
            let has_code = item.get(&wire.code_key).is_some_and(Value::is_string);
            if !has_code {
                add(
                    problems,
                    &format!("{}[{i}].{}", wire.field, wire.code_key),
                    &format!("The {} field is required.", wire.code_key),
                );
            }
        }
        for (code, value) in udf_pairs_of(raw, wire) {
            let field = format!("{}[{code}]", wire.field);
            match self.udfs.iter().find(|u| u.code == code) {
                None => add(
                    problems,
                    &field,
                    &format!("Unknown user-defined field code '{code}'."),
                ),
                Some(rule) => check_value(
                    problems,
                    &field,
                    Some(&value),
                    false,
                    rule.ty,
                    rule.max_length,
                    &rule.values,
                ),
            }
        }
    }
}

/// The `(code, value)` pairs of a body's UDFs, whichever wire style.
pub(crate) fn udf_pairs(body: &Value, wire: &UdfWire) -> Vec<(String, Value)> {
    body.get(&wire.field)
        .map(|raw| udf_pairs_of(raw, wire))
        .unwrap_or_default()
}

/// The `(code, value)` pairs of a UDF value (a list of objects or an object).
fn udf_pairs_of(raw: &Value, wire: &UdfWire) -> Vec<(String, Value)> {
    match raw {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let code = item.get(&wire.code_key)?.as_str()?.to_owned();
                let value = item.get(&wire.value_key).cloned().unwrap_or(Value::Null);
                Some((code, value))
            })
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

fn add(problems: &mut Problems, field: &str, message: &str) {
    problems
        .entry(field.to_owned())
        .or_default()
        .push(message.to_owned());
}

fn is_missing(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Problems of a JSON object body against field rules (one problem when it is not an object).
fn check_fields(rules: &[FieldRule], body: &Value) -> Problems {
    let mut problems = Problems::new();
    let Some(map) = body.as_object() else {
        add(
            &mut problems,
            "$",
            "The request body must be a JSON object.",
        );
        return problems;
    };
    for rule in rules {
        check_value(
            &mut problems,
            &rule.name,
            map.get(&rule.name),
            rule.required,
            rule.ty,
            rule.max_length,
            &rule.values,
        );
    }
    problems
}

fn check_value(
    problems: &mut Problems,
    field: &str,
    value: Option<&Value>,
    required: bool,
    ty: ScalarType,
    max_length: Option<u32>,
    values: &[String],
) {
    if is_missing(value) {
        if required {
            add(problems, field, &format!("The {field} field is required."));
        }
        return;
    }
    let Some(value) = value else { return };
    let type_ok = match ty {
        ScalarType::Text | ScalarType::Choice => value.is_string(),
        ScalarType::Number => {
            value.is_number()
                || value
                    .as_str()
                    .is_some_and(|s| s.trim().parse::<f64>().is_ok())
        }
        ScalarType::Integer => {
            value.as_i64().is_some()
                || value
                    .as_str()
                    .is_some_and(|s| s.trim().parse::<i64>().is_ok())
        }
        ScalarType::Bool => value.is_boolean(),
        ScalarType::Date => value.as_str().is_some_and(|s| {
            s.parse::<jiff::civil::Date>().is_ok()
                || s.parse::<jiff::civil::DateTime>().is_ok()
                || s.parse::<jiff::Timestamp>().is_ok()
        }),
        ScalarType::Datetime => value.as_str().is_some_and(|s| {
            s.parse::<jiff::Timestamp>().is_ok() || s.parse::<jiff::civil::DateTime>().is_ok()
        }),
    };
    if !type_ok {
        add(
            problems,
            field,
            &format!(
                "The JSON value could not be converted to the {} type of {field}.",
                ty.name()
            ),
        );
        return;
    }
    if let (Some(max), Some(s)) = (max_length, value.as_str())
        && s.chars().count() > max as usize
    {
        add(
            problems,
            field,
            &format!("The field {field} must be a string with a maximum length of {max}."),
        );
    }
    if ty == ScalarType::Choice
        && !values.is_empty()
        && let Some(s) = value.as_str()
        && !values.iter().any(|v| v == s)
    {
        add(
            problems,
            field,
            &format!("The value '{s}' is not valid for {field}."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> CaseRules {
        CaseRules {
            create: vec![
                FieldRule {
                    name: "caseTypeCode".into(),
                    ty: ScalarType::Choice,
                    required: true,
                    max_length: None,
                    values: vec!["POT".into(), "LIGHT".into()],
                },
                FieldRule {
                    name: "description".into(),
                    ty: ScalarType::Text,
                    required: false,
                    max_length: Some(5),
                    values: vec![],
                },
                FieldRule {
                    name: "easting".into(),
                    ty: ScalarType::Number,
                    required: false,
                    max_length: None,
                    values: vec![],
                },
            ],
            contact: vec![FieldRule {
                name: "lastName".into(),
                ty: ScalarType::Text,
                required: true,
                max_length: None,
                values: vec![],
            }],
            udfs: vec![UdfRule {
                code: "U1".into(),
                ty: ScalarType::Integer,
                max_length: None,
                values: vec![],
            }],
            udf_wire: UdfWire::default(),
        }
    }

    #[test]
    fn create_rules() {
        let r = rules();
        assert!(
            r.check_create(&json!({"caseTypeCode": "POT", "easting": "123.5", "extra": 1}))
                .is_empty()
        );
        let p = r.check_create(&json!({"description": "too long", "easting": "east",
            "userDefinedFields": [{"code": "U1", "value": "x"}, {"code": "U9", "value": 1}]}));
        assert_eq!(
            p["caseTypeCode"],
            vec!["The caseTypeCode field is required."]
        );
        assert_eq!(
            p["description"],
            vec!["The field description must be a string with a maximum length of 5."]
        );
        assert_eq!(p["easting"].len(), 1);
        assert_eq!(p["userDefinedFields[U1]"].len(), 1);
        assert_eq!(
            p["userDefinedFields[U9]"],
            vec!["Unknown user-defined field code 'U9'."]
        );
        let p = r.check_create(&json!({"caseTypeCode": "BIN"}));
        assert_eq!(
            p["caseTypeCode"],
            vec!["The value 'BIN' is not valid for caseTypeCode."]
        );
        assert!(r.check_create(&json!([])).contains_key("$"));
    }

    #[test]
    fn contact_rules() {
        let r = rules();
        assert!(r.check_contact(&json!({"lastName": "Smith"})).is_empty());
        assert!(
            r.check_contact(&json!({"lastName": ""}))
                .contains_key("lastName")
        );
    }
}
