//! The snapshot the incoming templates read right after a create.
//!
//! Aurora has no known call that reads a case back, and its first return-path snapshot of a new
//! case may come much later. So after a create the incoming templates of the reference read a
//! snapshot in the return path's PascalCase form, built from the case as Aurora has it: the answer
//! of the configured read-back endpoint where the site has one (`read_back_path`), else the
//! CreateCase body that was sent. Built from a CreateCase body (or read-back answer) it carries:
//!
//! - `TriggerSource`: `"amap create"`; no `TriggerType` (no trigger fired);
//! - `Date`: the time of the create (RFC 3339);
//! - `Message.CaseNumber`: the case number Aurora answered;
//! - every other top-level key of the body in PascalCase with its value as sent
//!   (`caseTypeCode` → `Message.CaseTypeCode`, `description` → `Message.Description`,
//!   `externalReference`, `locationText`, `easting`, `northing`, `usrn`, `contactId`, …);
//! - the UDFs of the body (`udf_wire.field`, list or object style) where the Aurora schema's
//!   `[udf_wire]` says snapshots hold them (`Message.UserDefinedFields` as
//!   `[{Code, Value}]` by default);
//! - not the attachment list (files are not part of a snapshot).
//!
//! Keys a real snapshot has but a create does not know (`ClearanceReasonCode`,
//! `CaseEventHistory`, …) are absent, so mappings reading them see empty values.

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::runtime::aurora::returns::{insert_path, pascal_case};
use crate::schema::UdfWire;

/// `TriggerSource` of a snapshot built after a create.
pub const CREATE_TRIGGER_SOURCE: &str = "amap create";

/// The PascalCase snapshot of a case from its camelCase CreateCase body (or read-back answer).
pub fn snapshot_from_case_body(
    body: &Map<String, Value>,
    case_number: &str,
    wire: &UdfWire,
    at: Timestamp,
) -> Value {
    let mut message = Map::new();
    for (key, value) in body {
        if key == &wire.field || key == "attachments" || key.eq_ignore_ascii_case("caseNumber") {
            continue;
        }
        message.insert(pascal_case(key), value.clone());
    }
    message.insert("CaseNumber".into(), Value::from(case_number));
    let mut root = Map::new();
    root.insert("TriggerSource".into(), CREATE_TRIGGER_SOURCE.into());
    root.insert("Date".into(), Value::from(at.to_string()));
    root.insert("Message".into(), Value::Object(message));
    let udfs = udf_pairs(body.get(&wire.field), wire);
    if !udfs.is_empty() {
        let list = udfs
            .into_iter()
            .map(|(code, value)| {
                let mut item = Map::new();
                item.insert(wire.snapshot_code_key.clone(), Value::from(code));
                item.insert(wire.snapshot_value_key.clone(), value);
                Value::Object(item)
            })
            .collect();
        insert_path(&mut root, &wire.snapshot_path, Value::Array(list));
    }
    Value::Object(root)
}

/// The `(code, value)` pairs of a body's UDF value, in either wire style (both are accepted, so
/// a read-back answer in the other style still reads).
fn udf_pairs(raw: Option<&Value>, wire: &UdfWire) -> Vec<(String, Value)> {
    match raw {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                let code = item.get(&wire.code_key)?.as_str()?.to_owned();
                let value = item.get(&wire.value_key).cloned().unwrap_or(Value::Null);
                Some((code, value))
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(code, value)| (code.clone(), value.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::UdfWireStyle;
    use serde_json::json;

    #[test]
    fn a_create_body_becomes_a_pascal_case_snapshot() {
        let body = json!({
            "caseTypeCode": "POTC",
            "description": "Pothole",
            "easting": "412345",
            "externalReference": "CAS-1",
            "contactId": 4,
            "attachments": [{"id": "a", "name": "photo.jpg"}],
            "userDefinedFields": [{"code": "HAZARD", "value": "H"}, {"code": "DEPTH", "value": 40}],
        });
        let at: Timestamp = "2025-12-02T09:46:56Z".parse().expect("time");
        let snapshot = snapshot_from_case_body(
            body.as_object().expect("object"),
            "100001",
            &UdfWire::default(),
            at,
        );
        assert_eq!(
            snapshot,
            json!({
                "TriggerSource": "amap create",
                "Date": "2025-12-02T09:46:56Z",
                "Message": {
                    "CaseNumber": "100001",
                    "CaseTypeCode": "POTC",
                    "Description": "Pothole",
                    "Easting": "412345",
                    "ExternalReference": "CAS-1",
                    "ContactId": 4,
                    "UserDefinedFields": [
                        {"Code": "HAZARD", "Value": "H"},
                        {"Code": "DEPTH", "Value": 40}
                    ]
                }
            })
        );
    }

    #[test]
    fn object_style_udfs_and_a_read_back_case_number() {
        let wire = UdfWire {
            style: UdfWireStyle::Object,
            field: "udfs".into(),
            snapshot_path: "Message.Udfs".into(),
            ..UdfWire::default()
        };
        let body = json!({"caseNumber": "X", "udfs": {"HAZARD": "L"}});
        let at: Timestamp = "2025-12-02T09:46:56Z".parse().expect("time");
        let snapshot = snapshot_from_case_body(body.as_object().expect("object"), "42", &wire, at);
        assert_eq!(snapshot["Message"]["CaseNumber"], "42");
        assert_eq!(
            snapshot["Message"]["Udfs"],
            json!([{"Code": "HAZARD", "Value": "L"}])
        );
    }
}
