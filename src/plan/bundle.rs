//! The plan bundle format (`amap-plan/1`).

use crate::check::hir::{Node, NodeId, TargetRef, Value};
use crate::schema::{ScalarType, UdfWire};
use crate::syntax::ast::TemplateKind;
use serde::{Deserialize, Serialize};

/// The format this build writes and reads.
pub const FORMAT: &str = "amap-plan/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub schemas: SchemaHashes,
    /// Every template source file with its SHA-256, sorted by path.
    pub sources: Vec<SourceHash>,
    pub udf_wire: UdfWire,
    /// The UDFs of the Aurora schema (for dynamic keys, resolved at run time).
    pub udfs: Vec<UdfEntry>,
    /// Tables, inlined; `Node::Lookup` indexes this list.
    pub tables: Vec<TablePlan>,
    /// Templates in file order, then source order.
    pub templates: Vec<TemplatePlan>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaHashes {
    pub aurora: String,
    pub connect: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceHash {
    pub file: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdfEntry {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ScalarType,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePlan {
    pub name: String,
    pub key_type: ScalarType,
    pub value_type: ScalarType,
    /// `(key, value)` pairs in source order.
    pub entries: Vec<(Value, Value)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePlan {
    pub name: String,
    pub kind: TemplateKind,
    /// The Connect reference the template is attached to.
    pub reference: String,
    /// `file:line` of the template's header.
    pub location: String,
    pub nodes: Vec<Node>,
    pub mappings: Vec<MappingPlan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingPlan {
    pub target: TargetRef,
    pub value: NodeId,
    /// `file:line` of the mapping.
    pub location: String,
    /// The mapping as written (one line), for messages.
    pub text: String,
}

/// Why a bundle cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("the plan bundle is not valid JSON or not a plan bundle: {0}")]
    Malformed(String),
    #[error(
        "the plan bundle has format `{found}`, but this amap reads `{FORMAT}`; recompile it with `amap compile`"
    )]
    Format { found: String },
    #[error(
        "the plan bundle was compiled against other schemas ({which} schema hash {found}, expected {expected}); recompile it with `amap compile`"
    )]
    SchemaMismatch {
        which: &'static str,
        found: String,
        expected: String,
    },
}

impl Bundle {
    /// Serialises the bundle: pretty JSON with a trailing newline, byte-identical for equal bundles.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses a bundle, refusing one of another format version.
    pub fn from_json(text: &str) -> Result<Bundle, LoadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LoadError::Malformed(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(LoadError::Format {
                    found: other.to_string(),
                });
            }
            None => return Err(LoadError::Malformed("it has no `format` field".into())),
        }
        serde_json::from_value(value).map_err(|e| LoadError::Malformed(e.to_string()))
    }

    /// Refuses a bundle compiled against schemas other than the ones given (by hash).
    pub fn verify_schemas(&self, expected: &SchemaHashes) -> Result<(), LoadError> {
        for (which, found, want) in [
            ("Aurora", &self.schemas.aurora, &expected.aurora),
            ("Connect", &self.schemas.connect, &expected.connect),
        ] {
            if found != want {
                return Err(LoadError::SchemaMismatch {
                    which,
                    found: found.clone(),
                    expected: want.clone(),
                });
            }
        }
        Ok(())
    }

    pub fn template(&self, name: &str) -> Option<&TemplatePlan> {
        self.templates.iter().find(|t| t.name == name)
    }
}
