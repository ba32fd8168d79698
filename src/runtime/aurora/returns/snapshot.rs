//! Return-path snapshots: the PascalCase JSON case snapshot Aurora writes on a trigger.
//!
//! The whole JSON is kept so that any key, known or not, is readable by dotted path
//! (`Message.CaseNumber`, `Message.CaseEventHistory.0.EventDateTime`).

use jiff::Timestamp;
use serde_json::{Map, Value};

/// Puts `value` at the dotted `path` of `map`, making the objects on the way (a member on the
/// way that is not an object is replaced by one). Dots at either end are ignored; an empty path
/// puts nothing.
pub fn insert_path(map: &mut Map<String, Value>, path: &str, value: Value) {
    let path = path.trim_matches('.');
    if path.is_empty() {
        return;
    }
    match path.split_once('.') {
        None => {
            map.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}

/// A CreateCase key as a snapshot writes it: `caseTypeCode` → `CaseTypeCode`.
pub fn pascal_case(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("snapshot {name}: {message}")]
pub struct SnapshotError {
    /// The blob name, or `<body>` when parsed without one.
    pub name: String,
    pub message: String,
}

/// A parsed snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// `Message.CaseNumber`, as text.
    pub case_number: String,
    /// `TriggerType`, when present.
    pub trigger_type: Option<String>,
    /// `TriggerSource`, when present.
    pub trigger_source: Option<String>,
    /// `Date`, when present and readable.
    pub date: Option<Timestamp>,
    /// The whole document, with literal `\n` sequences in text values turned into newlines.
    pub body: Value,
}

impl Snapshot {
    /// Parses a snapshot body. It must be a JSON object with a non-empty `Message.CaseNumber`.
    pub fn parse(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        Snapshot::parse_named("<body>", bytes)
    }

    /// As [`parse`](Self::parse), naming the blob in errors.
    pub fn parse_named(name: &str, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let error = |message: String| SnapshotError {
            name: name.to_owned(),
            message,
        };
        // Azure blobs written by .NET may start with a byte-order mark.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut body: Value =
            serde_json::from_slice(bytes).map_err(|e| error(format!("not JSON: {e}")))?;
        if !body.is_object() {
            return Err(error("not a JSON object".into()));
        }
        unescape_newlines(&mut body);
        let case_number = match lookup(&body, "Message.CaseNumber") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(error("no Message.CaseNumber".into())),
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let trigger_type = text("TriggerType");
        let trigger_source = text("TriggerSource");
        let date = body
            .get("Date")
            .and_then(Value::as_str)
            .and_then(parse_timestamp);
        Ok(Snapshot {
            case_number,
            trigger_type,
            trigger_source,
            date,
            body,
        })
    }

    /// The value at a dotted path; array items by index (`CaseEventHistory.0`).
    pub fn get(&self, path: &str) -> Option<&Value> {
        lookup(&self.body, path)
    }

    /// The text at a path (numbers and booleans as written; `None` for null, objects, arrays).
    pub fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The timestamp at a path (1–7 fractional digits; without an offset it is taken as UTC).
    pub fn timestamp(&self, path: &str) -> Option<Timestamp> {
        self.get(path)
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
    }

    /// `Message.ClearanceReasonCode`, `None` when absent or `""`.
    pub fn clearance_reason_code(&self) -> Option<String> {
        self.text("Message.ClearanceReasonCode")
            .filter(|s| !s.is_empty())
    }
}

/// The value at a dotted path in any JSON document.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for key in path.split('.') {
        at = match at {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Parses Aurora's timestamps: RFC 3339 with 1–7 fractional digits, or the same without an
/// offset (then UTC).
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    civil
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Aurora writes some text with literal `\n` (backslash, n): turn them (and `\r\n`) into
/// newlines in every string value.
fn unescape_newlines(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("\\n") => {
            *s = s.replace("\\r\\n", "\n").replace("\\n", "\n");
        }
        Value::Array(items) => items.iter_mut().for_each(unescape_newlines),
        Value::Object(map) => map.values_mut().for_each(unescape_newlines),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"TriggerSource": "Interactive Source", "TriggerType": "CS_CHANGE_QUEUE",
       "Date": "2025-12-02T09:46:56.84597Z",
       "Message": {"CaseNumber": "CS-1001", "ClearanceReasonCode": "",
                   "ClearanceReasonPortalText": "Line one\\nLine two\\r\\nLine three",
                   "CaseTypeCode": "POTHOLE",
                   "Priority": {"Code": "P2", "Days": 5},
                   "CaseEventHistory": [{"EventDateTime": "2025-11-26T09:24:46.1888937Z"},
                                        {"EventDateTime": "2025-11-27T10:00:00.5"}]}}"#;

    #[test]
    fn parses_the_known_keys() {
        let s = Snapshot::parse(SAMPLE.as_bytes()).expect("snapshot");
        assert_eq!(s.case_number, "CS-1001");
        assert_eq!(s.trigger_type.as_deref(), Some("CS_CHANGE_QUEUE"));
        assert_eq!(s.trigger_source.as_deref(), Some("Interactive Source"));
        assert_eq!(
            s.date,
            Some("2025-12-02T09:46:56.84597Z".parse().expect("ts"))
        );
        assert_eq!(
            s.text("Message.ClearanceReasonPortalText").as_deref(),
            Some("Line one\nLine two\nLine three")
        );
        assert_eq!(s.clearance_reason_code(), None);
        assert_eq!(
            s.timestamp("Message.CaseEventHistory.0.EventDateTime"),
            Some("2025-11-26T09:24:46.1888937Z".parse().expect("ts"))
        );
        assert_eq!(
            s.timestamp("Message.CaseEventHistory.1.EventDateTime"),
            Some("2025-11-27T10:00:00.5Z".parse().expect("ts"))
        );
    }

    #[test]
    fn unknown_keys_stay_readable() {
        let s = Snapshot::parse(SAMPLE.as_bytes()).expect("snapshot");
        assert_eq!(s.text("Message.Priority.Code").as_deref(), Some("P2"));
        assert_eq!(s.text("Message.Priority.Days").as_deref(), Some("5"));
        assert_eq!(s.get("Message.Nope"), None);
        assert_eq!(s.get("Message.CaseEventHistory.9"), None);
    }

    #[test]
    fn timestamps_with_one_to_seven_digits() {
        for (text, nanos) in [
            ("2025-01-01T00:00:00.1Z", 100_000_000),
            ("2025-01-01T00:00:00.12Z", 120_000_000),
            ("2025-01-01T00:00:00.123456Z", 123_456_000),
            ("2025-01-01T00:00:00.1234567Z", 123_456_700),
            ("2025-01-01T00:00:00.1234567", 123_456_700),
        ] {
            let t = parse_timestamp(text).expect(text);
            assert_eq!(t.subsec_nanosecond(), nanos, "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn rejects_what_is_not_a_snapshot() {
        assert!(Snapshot::parse(b"[1]").is_err());
        assert!(Snapshot::parse(b"{\"Message\":{}}").is_err());
        let err = Snapshot::parse_named("x.json", b"{").expect_err("broken");
        assert!(err.to_string().starts_with("snapshot x.json: not JSON"));
        let bom = b"\xEF\xBB\xBF{\"Message\":{\"CaseNumber\":42}}";
        assert_eq!(Snapshot::parse(bom).expect("bom").case_number, "42");
    }
}
