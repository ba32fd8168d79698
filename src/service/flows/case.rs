//! A stored Connect case as the evaluator reads it.

use serde_json::{Map, Value};

use crate::runtime::case::{Attachment, Case};
use crate::service::store::{AttachmentMeta, StoredCase};

/// The [`Case`] templates read from a stored case: its body (fields, dates, person, address, as
/// Connect sent them and as the integration wrote them back), with the reference, type and status
/// of the record, its references, and the files stored for it. `created_at` / `updated_at` are the
/// body's when Connect sent them, else the store's times.
///
/// Fails with a reason in words when the body is not a Connect case (say `fields` is a list).
pub fn connect_case(stored: &StoredCase, attachments: &[AttachmentMeta]) -> Result<Case, String> {
    let record = &stored.case;
    let mut body = match &record.body {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => {
            return Err(format!(
                "the stored case {:?} is not a JSON object",
                record.reference
            ));
        }
    };
    body.insert("reference".into(), record.reference.clone().into());
    body.insert("type".into(), record.case_type.clone().into());
    body.insert(
        "status".into(),
        record
            .status
            .clone()
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    for (key, at) in [
        ("created_at", stored.created_at),
        ("updated_at", stored.updated_at),
    ] {
        let given = body
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !given {
            body.insert(key.into(), at.to_string().into());
        }
    }
    let references: Map<String, Value> = record
        .references
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    body.insert("references".into(), Value::Object(references));
    body.remove("attachments");
    let mut case: Case = serde_json::from_value(Value::Object(body)).map_err(|e| {
        format!(
            "the stored case {:?} is not a Connect case: {e}",
            record.reference
        )
    })?;
    case.attachments = attachments
        .iter()
        .map(|a| Attachment {
            id: a.id.to_string(),
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            path: None,
            url: None,
        })
        .collect();
    Ok(case)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::{AttachmentId, CaseRecord};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn stored(body: Value) -> StoredCase {
        StoredCase {
            case: CaseRecord {
                reference: "CAS-1".into(),
                case_type: "pothole".into(),
                status: Some("open".into()),
                body,
                references: BTreeMap::from([("aurora_case".into(), "100001".into())]),
            },
            created_at: "2025-12-01T10:00:00Z".parse().expect("time"),
            updated_at: "2025-12-01T11:00:00Z".parse().expect("time"),
        }
    }

    #[test]
    fn the_record_completes_the_body() {
        let meta = AttachmentMeta {
            id: AttachmentId(7),
            case_ref: "CAS-1".into(),
            name: "photo.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 12,
            created_at: "2025-12-01T10:00:00Z".parse().expect("time"),
        };
        let case = connect_case(
            &stored(
                json!({"fields": {"depth_mm": 40}, "person": {"surname": "Smith"},
                           "created_at": "2025-11-30T09:00:00Z", "integration": {}}),
            ),
            &[meta],
        )
        .expect("case");
        assert_eq!(case.reference, "CAS-1");
        assert_eq!(case.case_type, "pothole");
        assert_eq!(case.status, "open");
        assert_eq!(case.created_at, "2025-11-30T09:00:00Z");
        assert_eq!(case.updated_at, "2025-12-01T11:00:00Z");
        assert_eq!(case.fields["depth_mm"], 40);
        assert_eq!(case.person.surname.as_deref(), Some("Smith"));
        assert_eq!(case.references["aurora_case"], "100001");
        assert_eq!(case.attachments[0].id, "7");
        assert_eq!(case.attachments[0].name, "photo.jpg");
    }

    #[test]
    fn a_body_that_is_not_a_case_is_named() {
        let error = connect_case(&stored(json!({"fields": [1, 2]})), &[]).expect_err("not a case");
        assert!(
            error.starts_with("the stored case \"CAS-1\" is not a Connect case"),
            "{error}"
        );
        let error = connect_case(&stored(json!([1])), &[]).expect_err("not an object");
        assert_eq!(error, "the stored case \"CAS-1\" is not a JSON object");
    }
}
