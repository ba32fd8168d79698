//! Contacts: the phone rule, the create body and how a search answer is matched.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// An Aurora contact id as Aurora gives it (a number or a string), written back the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContactId {
    Number(i64),
    Text(String),
}

impl ContactId {
    pub fn to_json(&self) -> Value {
        match self {
            ContactId::Number(n) => Value::from(*n),
            ContactId::Text(s) => Value::from(s.as_str()),
        }
    }

    pub(crate) fn from_json(v: &Value) -> Option<ContactId> {
        match v {
            Value::Number(n) => n.as_i64().map(ContactId::Number),
            Value::String(s) if !s.is_empty() => Some(ContactId::Text(s.clone())),
            _ => None,
        }
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactId::Number(n) => write!(f, "{n}"),
            ContactId::Text(s) => f.write_str(s),
        }
    }
}

/// Which search parameter a phone number goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    Home,
}

impl PhoneKind {
    /// The Cases API name (`mobilePhone` / `homePhone`), used for search and create.
    pub fn field(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "mobilePhone",
            PhoneKind::Home => "homePhone",
        }
    }
}

/// The phone rule: digits only, a leading `44` becomes `0`; `07…` is a mobile, anything else
/// a home phone. `None` when no digit is left.
pub fn normalise_phone(raw: &str) -> Option<(String, PhoneKind)> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let digits = match digits.strip_prefix("44") {
        Some(rest) => format!("0{rest}"),
        None => digits,
    };
    let kind = if digits.starts_with("07") {
        PhoneKind::Mobile
    } else {
        PhoneKind::Home
    };
    Some((digits, kind))
}

/// A contact to find or create.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewContact {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Any form; the phone rule decides `mobilePhone` or `homePhone`.
    pub phone: Option<String>,
    /// Further body keys (from the Aurora schema's contact fields), written as given.
    pub extra: Map<String, Value>,
}

impl NewContact {
    /// The `CreateContact` body.
    pub fn to_body(&self) -> Value {
        let mut body = Map::new();
        if let Some(v) = non_empty(&self.first_name) {
            body.insert("firstName".into(), v.into());
        }
        if let Some(v) = non_empty(&self.last_name) {
            body.insert("lastName".into(), v.into());
        }
        if let Some(v) = non_empty(&self.email) {
            body.insert("emailAddress".into(), v.into());
        }
        if let Some((digits, kind)) = self.phone.as_deref().and_then(normalise_phone) {
            body.insert(kind.field().into(), digits.into());
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }

    pub(crate) fn email(&self) -> Option<&str> {
        non_empty(&self.email)
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// How a contact was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactMatch {
    Email,
    Phone,
    Created,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactOutcome {
    pub id: ContactId,
    pub matched: ContactMatch,
}

/// The first contact of a search answer whose e-mail equals `email` (ignoring case).
pub(crate) fn first_email_match(answer: &Value, email: &str) -> Option<ContactId> {
    contacts(answer).find_map(|c| {
        let candidate = c.get("emailAddress").and_then(Value::as_str)?;
        if candidate.trim().eq_ignore_ascii_case(email.trim()) {
            c.get("id").and_then(ContactId::from_json)
        } else {
            None
        }
    })
}

/// The first contact of a search answer with the same normalised number in `field`.
pub(crate) fn first_phone_match(
    answer: &Value,
    digits: &str,
    kind: PhoneKind,
) -> Option<ContactId> {
    contacts(answer).find_map(|c| {
        let candidate = c.get(kind.field()).and_then(Value::as_str)?;
        let (candidate, _) = normalise_phone(candidate)?;
        if candidate == digits {
            c.get("id").and_then(ContactId::from_json)
        } else {
            None
        }
    })
}

fn contacts(answer: &Value) -> impl Iterator<Item = &Value> {
    let list = match answer {
        Value::Array(items) => Some(items),
        other => other.get("contacts").and_then(Value::as_array),
    };
    list.into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phone_rule() {
        assert_eq!(
            normalise_phone("+44 (0)7700 900123"),
            Some(("007700900123".into(), PhoneKind::Home))
        );
        assert_eq!(
            normalise_phone("+44 7700 900123"),
            Some(("07700900123".into(), PhoneKind::Mobile))
        );
        assert_eq!(
            normalise_phone("07700-900-123"),
            Some(("07700900123".into(), PhoneKind::Mobile))
        );
        assert_eq!(
            normalise_phone("01632 960123"),
            Some(("01632960123".into(), PhoneKind::Home))
        );
        assert_eq!(normalise_phone("n/a"), None);
    }

    #[test]
    fn create_body() {
        let c = NewContact {
            first_name: Some("Ann".into()),
            last_name: Some("Smith".into()),
            email: Some(" ".into()),
            phone: Some("+44 1632 960123".into()),
            extra: Map::new(),
        };
        assert_eq!(
            c.to_body(),
            json!({"firstName":"Ann","lastName":"Smith","homePhone":"01632960123"})
        );
    }

    #[test]
    fn exact_matches_only() {
        let answer = json!({"contacts":[
            {"id": 1, "emailAddress": "joann@example.org", "mobilePhone": "07700 900124"},
            {"id": "C2", "emailAddress": "ANN@example.org", "mobilePhone": "+447700900123"}
        ]});
        assert_eq!(
            first_email_match(&answer, "ann@example.org"),
            Some(ContactId::Text("C2".into()))
        );
        assert_eq!(
            first_phone_match(&answer, "07700900123", PhoneKind::Mobile),
            Some(ContactId::Text("C2".into()))
        );
        assert_eq!(first_email_match(&answer, "nobody@example.org"), None);
        assert_eq!(
            serde_json::to_string(&ContactId::Number(7)).expect("json"),
            "7"
        );
    }
}
