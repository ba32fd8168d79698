//! The in-memory schemas the checker resolves names against. Each entry keeps the span of
//! its declaration in the TOML file so that diagnostics can point at it.

use crate::diagnostics::{FileId, Span};
use serde::{Deserialize, Serialize};

/// A scalar type as schemas and tables declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    Text,
    Number,
    Integer,
    Bool,
    Date,
    Datetime,
    Choice,
}

impl ScalarType {
    pub const ALL: [ScalarType; 7] = [
        ScalarType::Text,
        ScalarType::Number,
        ScalarType::Integer,
        ScalarType::Bool,
        ScalarType::Date,
        ScalarType::Datetime,
        ScalarType::Choice,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Text => "text",
            ScalarType::Number => "number",
            ScalarType::Integer => "integer",
            ScalarType::Bool => "bool",
            ScalarType::Date => "date",
            ScalarType::Datetime => "datetime",
            ScalarType::Choice => "choice",
        }
    }

    pub fn from_name(name: &str) -> Option<ScalarType> {
        ScalarType::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// How a value is written into the CreateCase JSON body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wire {
    /// As its natural JSON type (numbers as numbers).
    #[default]
    Native,
    /// As a JSON string (Aurora wants eastings and northings as strings).
    String,
}

/// Where a schema entry was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decl {
    pub file: FileId,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectField {
    pub name: String,
    pub ty: ScalarType,
    pub required: bool,
    pub max_length: Option<u32>,
    /// Allowed values of a `choice` field.
    pub options: Vec<String>,
    pub description: Option<String>,
    pub decl: Decl,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConnectDate {
    pub name: String,
    /// `Date` or `Datetime`.
    pub ty: ScalarType,
    pub required: bool,
    pub description: Option<String>,
    pub decl: Decl,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    pub decl: Decl,
}

/// The Connect side: case fields, dates and references (person and address are built in).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectSchema {
    pub fields: Vec<ConnectField>,
    pub dates: Vec<ConnectDate>,
    pub references: Vec<Reference>,
}

impl ConnectSchema {
    pub fn field(&self, name: &str) -> Option<&ConnectField> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn date(&self, name: &str) -> Option<&ConnectDate> {
        self.dates.iter().find(|f| f.name == name)
    }
    pub fn reference(&self, name: &str) -> Option<&Reference> {
        self.references.iter().find(|f| f.name == name)
    }
}

/// A field of the CreateCase body or of a contact.
#[derive(Clone, Debug, PartialEq)]
pub struct AuroraField {
    pub name: String,
    pub ty: ScalarType,
    pub required: bool,
    pub max_length: Option<u32>,
    /// Allowed values of a `choice` field.
    pub values: Vec<String>,
    pub wire: Wire,
    pub description: Option<String>,
    pub decl: Decl,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Udf {
    pub code: String,
    pub name: String,
    pub ty: ScalarType,
    pub values: Vec<String>,
    pub max_length: Option<u32>,
    pub description: Option<String>,
    pub decl: Decl,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotField {
    /// Dotted path into the snapshot (`Message.CaseNumber`).
    pub path: String,
    pub ty: ScalarType,
    pub required: bool,
    pub values: Vec<String>,
    pub description: Option<String>,
    pub decl: Decl,
}

/// How UDFs are written into the CreateCase body and read from snapshots. The real shape is
/// not public, so it is data: `[udf_wire]` in the Aurora schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UdfWire {
    /// The CreateCase body key holding the UDFs (`userDefinedFields`).
    pub field: String,
    /// `list`: `[{code_key: CODE, value_key: VALUE}]`; `object`: `{CODE: VALUE}`.
    pub style: UdfWireStyle,
    pub code_key: String,
    pub value_key: String,
    /// Where UDF values sit in a return-path snapshot (dotted path to a list of
    /// `{snapshot_code_key, snapshot_value_key}` objects).
    pub snapshot_path: String,
    pub snapshot_code_key: String,
    pub snapshot_value_key: String,
}

impl Default for UdfWire {
    fn default() -> Self {
        UdfWire {
            field: "userDefinedFields".into(),
            style: UdfWireStyle::List,
            code_key: "code".into(),
            value_key: "value".into(),
            snapshot_path: "Message.UserDefinedFields".into(),
            snapshot_code_key: "Code".into(),
            snapshot_value_key: "Value".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UdfWireStyle {
    List,
    Object,
}

/// The Aurora side: CreateCase fields, contact fields, UDFs, snapshot fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuroraSchema {
    pub create: Vec<AuroraField>,
    pub contact: Vec<AuroraField>,
    pub udfs: Vec<Udf>,
    pub snapshot: Vec<SnapshotField>,
    pub udf_wire: UdfWire,
}

impl AuroraSchema {
    pub fn create_field(&self, name: &str) -> Option<&AuroraField> {
        self.create.iter().find(|f| f.name == name)
    }
    pub fn contact_field(&self, name: &str) -> Option<&AuroraField> {
        self.contact.iter().find(|f| f.name == name)
    }
    pub fn snapshot_field(&self, path: &str) -> Option<&SnapshotField> {
        self.snapshot.iter().find(|f| f.path == path)
    }
    pub fn udf_by_code(&self, code: &str) -> Option<&Udf> {
        self.udfs.iter().find(|u| u.code == code)
    }
    /// Resolves a UDF key as the language does: by code (exact), then by name
    /// (case-insensitive). `Err(n)` when the name matches `n != 1` UDFs.
    pub fn resolve_udf(&self, key: &str) -> Result<&Udf, usize> {
        if let Some(u) = self.udf_by_code(key) {
            return Ok(u);
        }
        let mut found = self
            .udfs
            .iter()
            .filter(|u| u.name.eq_ignore_ascii_case(key));
        match (found.next(), found.next()) {
            (Some(u), None) => Ok(u),
            (None, _) => Err(0),
            (Some(_), Some(_)) => Err(2 + found.count()),
        }
    }
}

/// The attributes of the linked person (all optional text).
pub const PERSON_ATTRS: &[&str] = &[
    "title",
    "forename",
    "middle_names",
    "surname",
    "full_name",
    "email",
    "phone",
    "mobile",
];

/// The attributes of the linked address (optional text; `easting`/`northing` numbers).
pub const ADDRESS_ATTRS: &[&str] = &[
    "summary", "line1", "line2", "line3", "town", "county", "postcode", "uprn", "usrn", "easting",
    "northing",
];

/// Built-in case attributes and their types.
pub const CASE_ATTRS: &[(&str, ScalarType, bool)] = &[
    ("reference", ScalarType::Text, true),
    ("type", ScalarType::Text, true),
    ("status", ScalarType::Text, true),
    ("created_at", ScalarType::Datetime, true),
    ("updated_at", ScalarType::Datetime, true),
];

/// The type of an address attribute.
pub fn address_attr_type(attr: &str) -> ScalarType {
    match attr {
        "easting" | "northing" => ScalarType::Number,
        _ => ScalarType::Text,
    }
}
