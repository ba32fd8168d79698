//! The Connect case: what a Connect rule hands over when it applies an integration, in
//! Jadu Connect's vocabulary (fields, dates, the linked person and address, references,
//! attachments). `docs/connect-case.md` documents the JSON form.
//!
//! Values are kept as JSON and read as their declared types when used, so a value that does
//! not fit (a number field holding `"abc"`) is reported for that field — by [`validate`], and
//! by evaluation when a template reads it — and never breaks the case as a whole.

use super::eval::value::{Scalar, from_json, show_json};
use crate::schema::{ConnectSchema, ScalarType};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The members of a case in its JSON form (`docs/connect-case.md`), as [`Case`] reads them.
pub const CASE_KEYS: &[&str] = &[
    "reference",
    "type",
    "status",
    "created_at",
    "updated_at",
    "fields",
    "dates",
    "person",
    "address",
    "references",
    "attachments",
];

/// The members of an attachment listed in a case, as [`Attachment`] reads them.
pub const ATTACHMENT_KEYS: &[&str] = &["id", "name", "content_type", "size", "path", "url"];

/// A Connect case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Case {
    #[serde(deserialize_with = "null_as_default")]
    pub reference: String,
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub case_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_as_default")]
    pub created_at: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_as_default")]
    pub updated_at: String,
    /// Field name → value (text, number, bool; dates as text), read as the type the Connect
    /// schema declares.
    #[serde(deserialize_with = "null_as_default")]
    pub fields: Map<String, Value>,
    /// Date name → `YYYY-MM-DD` or RFC 3339 text, by the date's declared type.
    #[serde(deserialize_with = "null_as_default")]
    pub dates: Map<String, Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub person: Person,
    #[serde(deserialize_with = "null_as_default")]
    pub address: Address,
    /// Reference name → value (an Aurora case number once a create has run).
    #[serde(deserialize_with = "null_as_default")]
    pub references: Map<String, Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub attachments: Vec<Attachment>,
}

/// The person linked to the case. Every attribute is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Person {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_names: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// The address linked to the case. Every attribute is optional; `uprn` and `usrn` may be
/// given as text or numbers, `easting` and `northing` as numbers or numeric text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uprn: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usrn: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub easting: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub northing: Option<Value>,
}

/// A file attached to the case. The bytes are either in the store (`path`) or at a URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A built-in case attribute (`case.<attr>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseAttr {
    Reference,
    Type,
    Status,
    CreatedAt,
    UpdatedAt,
}

impl CaseAttr {
    pub fn from_name(name: &str) -> Option<CaseAttr> {
        Some(match name {
            "reference" => CaseAttr::Reference,
            "type" => CaseAttr::Type,
            "status" => CaseAttr::Status,
            "created_at" => CaseAttr::CreatedAt,
            "updated_at" => CaseAttr::UpdatedAt,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            CaseAttr::Reference => "reference",
            CaseAttr::Type => "type",
            CaseAttr::Status => "status",
            CaseAttr::CreatedAt => "created_at",
            CaseAttr::UpdatedAt => "updated_at",
        }
    }
}

/// An attribute of the linked person (`person.<attr>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PersonAttr {
    Title,
    Forename,
    MiddleNames,
    Surname,
    FullName,
    Email,
    Phone,
    Mobile,
}

impl PersonAttr {
    pub const ALL: [PersonAttr; 8] = [
        PersonAttr::Title,
        PersonAttr::Forename,
        PersonAttr::MiddleNames,
        PersonAttr::Surname,
        PersonAttr::FullName,
        PersonAttr::Email,
        PersonAttr::Phone,
        PersonAttr::Mobile,
    ];
    pub fn name(self) -> &'static str {
        match self {
            PersonAttr::Title => "title",
            PersonAttr::Forename => "forename",
            PersonAttr::MiddleNames => "middle_names",
            PersonAttr::Surname => "surname",
            PersonAttr::FullName => "full_name",
            PersonAttr::Email => "email",
            PersonAttr::Phone => "phone",
            PersonAttr::Mobile => "mobile",
        }
    }
    pub fn from_name(name: &str) -> Option<PersonAttr> {
        PersonAttr::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// An attribute of the linked address (`address.<attr>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressAttr {
    Summary,
    Line1,
    Line2,
    Line3,
    Town,
    County,
    Postcode,
    Uprn,
    Usrn,
    Easting,
    Northing,
}

impl AddressAttr {
    pub const ALL: [AddressAttr; 11] = [
        AddressAttr::Summary,
        AddressAttr::Line1,
        AddressAttr::Line2,
        AddressAttr::Line3,
        AddressAttr::Town,
        AddressAttr::County,
        AddressAttr::Postcode,
        AddressAttr::Uprn,
        AddressAttr::Usrn,
        AddressAttr::Easting,
        AddressAttr::Northing,
    ];
    pub fn name(self) -> &'static str {
        match self {
            AddressAttr::Summary => "summary",
            AddressAttr::Line1 => "line1",
            AddressAttr::Line2 => "line2",
            AddressAttr::Line3 => "line3",
            AddressAttr::Town => "town",
            AddressAttr::County => "county",
            AddressAttr::Postcode => "postcode",
            AddressAttr::Uprn => "uprn",
            AddressAttr::Usrn => "usrn",
            AddressAttr::Easting => "easting",
            AddressAttr::Northing => "northing",
        }
    }
    pub fn from_name(name: &str) -> Option<AddressAttr> {
        AddressAttr::ALL.into_iter().find(|a| a.name() == name)
    }
    /// The declared type (`easting`/`northing` are numbers, everything else text).
    pub fn ty(self) -> ScalarType {
        match self {
            AddressAttr::Easting | AddressAttr::Northing => ScalarType::Number,
            _ => ScalarType::Text,
        }
    }
}

/// Where a value sits that does not fit, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The source as templates name it: `field.quantity`, `date.reported`, `case.created_at`.
    pub source: String,
    /// In words: `holds "abc", which is not a number`.
    pub reason: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.source, self.reason)
    }
}

/// The outcome of reading one value as its declared type.
pub type Read<'a> = Result<Scalar<'a>, super::eval::value::Misfit>;

impl Case {
    /// `case.<attr>`.
    pub fn attr(&self, attr: CaseAttr) -> Read<'_> {
        fn text(s: &str) -> Scalar<'_> {
            if s.is_empty() {
                Scalar::Empty
            } else {
                Scalar::Text(s.into())
            }
        }
        match attr {
            CaseAttr::Reference => Ok(text(&self.reference)),
            CaseAttr::Type => Ok(text(&self.case_type)),
            CaseAttr::Status => Ok(text(&self.status)),
            CaseAttr::CreatedAt => read_text_as(&self.created_at, ScalarType::Datetime),
            CaseAttr::UpdatedAt => read_text_as(&self.updated_at, ScalarType::Datetime),
        }
    }

    /// `field.<name>` read as `ty`; a missing field is empty.
    #[inline]
    pub fn field(&self, name: &str, ty: ScalarType) -> Read<'_> {
        match self.fields.get(name) {
            Some(v) => from_json(v, ty),
            None => Ok(Scalar::Empty),
        }
    }

    /// `date.<name>` read as `ty` (`date` or `datetime`).
    #[inline]
    pub fn date(&self, name: &str, ty: ScalarType) -> Read<'_> {
        match self.dates.get(name) {
            Some(v) => from_json(v, ty),
            None => Ok(Scalar::Empty),
        }
    }

    /// `ref.<name>`, as text.
    pub fn reference_value(&self, name: &str) -> Read<'_> {
        match self.references.get(name) {
            Some(v) => from_json(v, ScalarType::Text),
            None => Ok(Scalar::Empty),
        }
    }

    /// `person.<attr>`.
    #[inline]
    pub fn person_attr(&self, attr: PersonAttr) -> Scalar<'_> {
        let p = &self.person;
        let v = match attr {
            PersonAttr::Title => &p.title,
            PersonAttr::Forename => &p.forename,
            PersonAttr::MiddleNames => &p.middle_names,
            PersonAttr::Surname => &p.surname,
            PersonAttr::FullName => &p.full_name,
            PersonAttr::Email => &p.email,
            PersonAttr::Phone => &p.phone,
            PersonAttr::Mobile => &p.mobile,
        };
        match v.as_deref() {
            None | Some("") => Scalar::Empty,
            Some(s) => Scalar::Text(s.into()),
        }
    }

    /// `address.<attr>`.
    #[inline]
    pub fn address_attr(&self, attr: AddressAttr) -> Read<'_> {
        let a = &self.address;
        let text = match attr {
            AddressAttr::Summary => &a.summary,
            AddressAttr::Line1 => &a.line1,
            AddressAttr::Line2 => &a.line2,
            AddressAttr::Line3 => &a.line3,
            AddressAttr::Town => &a.town,
            AddressAttr::County => &a.county,
            AddressAttr::Postcode => &a.postcode,
            AddressAttr::Uprn
            | AddressAttr::Usrn
            | AddressAttr::Easting
            | AddressAttr::Northing => {
                let v = match attr {
                    AddressAttr::Uprn => &a.uprn,
                    AddressAttr::Usrn => &a.usrn,
                    AddressAttr::Easting => &a.easting,
                    _ => &a.northing,
                };
                return match v {
                    Some(v) => from_json(v, attr.ty()),
                    None => Ok(Scalar::Empty),
                };
            }
        };
        Ok(match text.as_deref() {
            None | Some("") => Scalar::Empty,
            Some(s) => Scalar::Text(s.into()),
        })
    }
}

fn read_text_as(s: &str, ty: ScalarType) -> Read<'_> {
    super::eval::value::from_text(s, ty).ok_or_else(|| super::eval::value::Misfit {
        shown: super::eval::value::show_text(s),
        expected: ty,
    })
}

/// Checks every value of the case against its declared type: the Connect schema's fields
/// and dates (type, choice options, `max_length`, `required`), the built-in datetimes and
/// the address numbers. One problem per value, in schema order; nothing panics.
pub fn validate(case: &Case, schema: &ConnectSchema) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut report =
        |source: String, reason: String| problems.push(FieldProblem { source, reason });
    for f in &schema.fields {
        let source = format!("field.{}", f.name);
        let raw = case.fields.get(&f.name);
        match case.field(&f.name, f.ty) {
            Err(m) => report(source, m.to_string()),
            Ok(v) if v.is_empty() => {
                if f.required {
                    report(source, "is required but empty".to_string());
                }
            }
            Ok(v) => {
                let text = v.into_text();
                if f.ty == ScalarType::Choice
                    && !f.options.is_empty()
                    && !f.options.iter().any(|o| o == text.as_ref())
                {
                    let shown = raw.map(show_json).unwrap_or_default();
                    report(
                        source,
                        format!(
                            "holds {shown}, which is not one of its options ({})",
                            f.options.join(", ")
                        ),
                    );
                } else if let Some(max) = f.max_length {
                    let n = text.chars().count();
                    if n > max as usize {
                        report(
                            source,
                            format!("is {n} characters long, but takes at most {max}"),
                        );
                    }
                }
            }
        }
    }
    for d in &schema.dates {
        let source = format!("date.{}", d.name);
        match case.date(&d.name, d.ty) {
            Err(m) => report(source, m.to_string()),
            Ok(v) if v.is_empty() && d.required => {
                report(source, "is required but empty".to_string())
            }
            Ok(_) => {}
        }
    }
    for attr in [CaseAttr::CreatedAt, CaseAttr::UpdatedAt] {
        if let Err(m) = case.attr(attr) {
            report(format!("case.{}", attr.name()), m.to_string());
        }
    }
    for attr in [
        AddressAttr::Uprn,
        AddressAttr::Usrn,
        AddressAttr::Easting,
        AddressAttr::Northing,
    ] {
        if let Err(m) = case.address_attr(attr) {
            report(format!("address.{}", attr.name()), m.to_string());
        }
    }
    for (name, v) in &case.references {
        if let Err(m) = from_json(v, ScalarType::Text) {
            report(format!("ref.{name}"), m.to_string());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ConnectDate, ConnectField, Decl};
    use serde_json::json;

    fn keys(v: Value) -> Vec<String> {
        match v {
            Value::Object(m) => m.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_key_lists_are_the_members_the_model_reads() {
        let case = serde_json::to_value(Case::default()).expect("case");
        assert_eq!(keys(case), CASE_KEYS);
        let attachment = Attachment {
            path: Some("p".into()),
            url: Some("u".into()),
            ..Attachment::default()
        };
        assert_eq!(
            keys(serde_json::to_value(attachment).expect("attachment")),
            ATTACHMENT_KEYS
        );
        let filled = |keys: &[&str]| {
            Value::Object(
                keys.iter()
                    .map(|k| (k.to_string(), Value::from("x")))
                    .collect(),
            )
        };
        let person: Person =
            serde_json::from_value(filled(crate::schema::PERSON_ATTRS)).expect("person");
        assert_eq!(
            keys(serde_json::to_value(person).expect("person")),
            crate::schema::PERSON_ATTRS
        );
        let address: Address =
            serde_json::from_value(filled(crate::schema::ADDRESS_ATTRS)).expect("address");
        assert_eq!(
            keys(serde_json::to_value(address).expect("address")),
            crate::schema::ADDRESS_ATTRS
        );
    }

    fn field(name: &str, ty: ScalarType) -> ConnectField {
        ConnectField {
            name: name.into(),
            ty,
            required: false,
            max_length: None,
            options: vec![],
            description: None,
            decl: Decl::default(),
        }
    }

    fn schema() -> ConnectSchema {
        let mut hazard = field("hazard", ScalarType::Choice);
        hazard.options = vec!["low".into(), "high".into()];
        let mut summary = field("summary", ScalarType::Text);
        summary.required = true;
        summary.max_length = Some(5);
        ConnectSchema {
            fields: vec![
                summary,
                field("quantity", ScalarType::Number),
                field("count", ScalarType::Integer),
                field("flag", ScalarType::Bool),
                hazard,
            ],
            dates: vec![ConnectDate {
                name: "reported".into(),
                ty: ScalarType::Date,
                required: true,
                description: None,
                decl: Decl::default(),
            }],
            references: vec![],
        }
    }

    #[test]
    fn an_empty_object_is_a_case() {
        let case: Case = serde_json::from_value(json!({})).unwrap();
        assert_eq!(case, Case::default());
        let case: Case =
            serde_json::from_value(json!({"fields": null, "person": null, "reference": null}))
                .unwrap();
        assert_eq!(case, Case::default());
    }

    #[test]
    fn values_that_do_not_fit_are_reported_per_field() {
        let case: Case = serde_json::from_value(json!({
            "created_at": "yesterday",
            "fields": {
                "summary": "far too long",
                "quantity": "abc",
                "count": 2.5,
                "flag": "yes",
                "hazard": "medium",
                "unknown": [1, 2]
            },
            "dates": {"reported": "02/12/2025"},
            "address": {"easting": "east"}
        }))
        .unwrap();
        let problems: Vec<String> = validate(&case, &schema())
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            problems,
            [
                "field.summary is 12 characters long, but takes at most 5",
                "field.quantity holds \"abc\", which is not a number",
                "field.count holds 2.5, which is not a whole number",
                "field.flag holds \"yes\", which is not true or false",
                "field.hazard holds \"medium\", which is not one of its options (low, high)",
                "date.reported holds \"02/12/2025\", which is not a date (YYYY-MM-DD)",
                "case.created_at holds \"yesterday\", which is not a datetime (RFC 3339, e.g. 2025-12-02T09:46:56Z)",
                "address.easting holds \"east\", which is not a number",
            ]
        );
    }

    #[test]
    fn a_good_case_has_no_problems_and_required_values_are_checked() {
        let case: Case = serde_json::from_value(json!({
            "created_at": "2025-12-02T09:46:56.84597Z",
            "fields": {"summary": "hole", "quantity": 12.5, "count": "7", "flag": true, "hazard": "low"},
            "dates": {"reported": "2025-12-02"},
            "address": {"easting": 412345, "northing": "433210.5", "uprn": 100023336956_i64}
        }))
        .unwrap();
        assert_eq!(validate(&case, &schema()), vec![]);
        let problems = validate(&Case::default(), &schema());
        assert_eq!(
            problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            [
                "field.summary is required but empty",
                "date.reported is required but empty"
            ]
        );
    }

    #[test]
    fn attributes_read_as_their_types() {
        let case: Case = serde_json::from_value(json!({
            "reference": "CAS-1",
            "person": {"forename": "Ann", "surname": ""},
            "address": {"usrn": 8400123, "easting": "412345.50"}
        }))
        .unwrap();
        assert_eq!(
            case.attr(CaseAttr::Reference),
            Ok(Scalar::Text("CAS-1".into()))
        );
        assert_eq!(case.attr(CaseAttr::Status), Ok(Scalar::Empty));
        assert_eq!(
            case.person_attr(PersonAttr::Forename),
            Scalar::Text("Ann".into())
        );
        assert_eq!(case.person_attr(PersonAttr::Surname), Scalar::Empty);
        assert_eq!(
            case.address_attr(AddressAttr::Usrn),
            Ok(Scalar::Text("8400123".into()))
        );
        assert_eq!(
            case.address_attr(AddressAttr::Easting),
            Ok(Scalar::Number("412345.5".into()))
        );
        for a in PersonAttr::ALL {
            assert_eq!(PersonAttr::from_name(a.name()), Some(a));
        }
        for a in AddressAttr::ALL {
            assert_eq!(AddressAttr::from_name(a.name()), Some(a));
            assert_eq!(a.ty(), crate::schema::address_attr_type(a.name()));
        }
    }
}
