//! The checked form of a template: a flat arena of expression nodes addressed by index, with
//! every name resolved against the schemas. It is plain serialisable data; the plan layer
//! packs it into a bundle and the runtime evaluates it.

use super::functions::Builtin;
use crate::diagnostics::Span;
use crate::schema::{ScalarType, Wire};
use serde::{Deserialize, Serialize};

/// Index of a node in its template's `nodes`.
pub type NodeId = u32;

/// A literal value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    Text(String),
    /// A decimal in canonical form (no exponent, no trailing zeros after the point).
    Number(String),
    Integer(i64),
    Bool(bool),
    /// `YYYY-MM-DD`
    Date(String),
    /// RFC 3339
    Datetime(String),
}

/// Where a source value comes from at run time; names are resolved and carry their type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Source {
    /// `case.reference`, `case.type`, `case.status`, `case.created_at`, `case.updated_at`
    Case {
        attr: String,
    },
    Field {
        name: String,
        ty: ScalarType,
    },
    Date {
        name: String,
        ty: ScalarType,
    },
    Person {
        attr: String,
    },
    Address {
        attr: String,
    },
    Ref {
        name: String,
    },
    /// A dotted path into the Aurora snapshot.
    Aurora {
        path: String,
        ty: ScalarType,
    },
    /// A UDF resolved at compile time to its code.
    Udf {
        code: String,
        ty: ScalarType,
    },
    /// A UDF whose code or name is the value of `key` at run time.
    UdfDynamic {
        key: NodeId,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareOp {
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Part {
    Text(String),
    Node { node: NodeId },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Node {
    Lit {
        value: Value,
    },
    Source {
        source: Source,
    },
    /// String interpolation: text pieces and values formatted canonically.
    Interp {
        parts: Vec<Part>,
    },
    Call {
        func: Builtin,
        args: Vec<NodeId>,
    },
    /// `lookup(key, table)`; `table` indexes the bundle's tables.
    Lookup {
        table: u32,
        key: NodeId,
    },
    If {
        cond: NodeId,
        then: NodeId,
        otherwise: NodeId,
    },
    /// `a ?? b`: `a` if present and successful, else `b`.
    Coalesce {
        a: NodeId,
        b: NodeId,
    },
    /// `a!`: `a` must be present.
    Require {
        a: NodeId,
    },
    Not {
        a: NodeId,
    },
    Compare {
        op: CompareOp,
        a: NodeId,
        b: NodeId,
    },
    And {
        a: NodeId,
        b: NodeId,
    },
    Or {
        a: NodeId,
        b: NodeId,
    },
    /// `exists(path)`: whether the source node `a` has a value.
    Exists {
        a: NodeId,
    },
    /// An implicit widening (`date` → `datetime`; `integer` → `number`).
    Widen {
        a: NodeId,
        to: ScalarType,
    },
}

/// What a mapping writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum TargetRef {
    /// A field of the CreateCase body.
    Aurora {
        field: String,
        ty: ScalarType,
        wire: Wire,
        required: bool,
        max_length: Option<u32>,
    },
    /// A field of the contact found or created for the case.
    Contact {
        field: String,
        ty: ScalarType,
        required: bool,
    },
    /// A UDF resolved at compile time.
    Udf { code: String, ty: ScalarType },
    /// A UDF whose code or name is the value of `key` at run time.
    UdfDynamic { key: NodeId },
    /// A Connect case field.
    Field { name: String, ty: ScalarType },
    /// A Connect case date.
    Date { name: String, ty: ScalarType },
}

/// One checked mapping: `target = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    pub target: TargetRef,
    pub value: NodeId,
    /// The span of the whole mapping in its source file.
    pub span: Span,
}

/// A checked template body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    pub nodes: Vec<Node>,
    pub mappings: Vec<Mapping>,
}

impl Body {
    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() as NodeId - 1
    }
}
