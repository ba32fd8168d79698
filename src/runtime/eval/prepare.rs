//! The prepared form of a plan bundle, built once and evaluated many times: tables as hash
//! maps, literals parsed, attribute names resolved to enums, snapshot paths split, JSON keys
//! pre-escaped, and every node reference checked so evaluation never indexes out of range
//! or recurses without bound.

use super::json::{key_bytes, write_string};
use super::value::{Scalar, date_to_datetime, parse_decimal};
use crate::check::functions::Builtin;
use crate::check::hir::{self, CompareOp, NodeId, Part, Source, TargetRef};
use crate::plan::{Bundle, TablePlan, TemplatePlan, UdfEntry};
use crate::runtime::case::{AddressAttr, CaseAttr, PersonAttr};
use crate::schema::{ScalarType, UdfWire, UdfWireStyle, Wire};
use crate::syntax::ast::TemplateKind;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::HashMap;

/// How deep expressions may nest in a bundle this runtime accepts.
pub const MAX_DEPTH: u32 = 256;

/// Why a bundle cannot be prepared (only a hand-edited or corrupted bundle gets here).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the plan bundle cannot be run: template \"{template}\": {reason}")]
pub struct PrepareError {
    pub template: String,
    pub reason: String,
}

/// A literal, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Text(Box<str>),
    Number(Box<str>),
    Integer(i64),
    Bool(bool),
    Date(Date),
    Datetime(Timestamp),
}

impl Lit {
    pub fn from_value(v: &hir::Value) -> Result<Lit, String> {
        Ok(match v {
            hir::Value::Text(s) => Lit::Text(s.as_str().into()),
            hir::Value::Number(s) => Lit::Number(
                parse_decimal(s)
                    .ok_or_else(|| format!("`{s}` is not a number"))?
                    .into_owned()
                    .into(),
            ),
            hir::Value::Integer(i) => Lit::Integer(*i),
            hir::Value::Bool(b) => Lit::Bool(*b),
            hir::Value::Date(s) => Lit::Date(
                s.parse::<Date>()
                    .map_err(|_| format!("`{s}` is not a date"))?,
            ),
            hir::Value::Datetime(s) => Lit::Datetime(
                s.parse::<Timestamp>()
                    .map_err(|_| format!("`{s}` is not a datetime"))?,
            ),
        })
    }

    #[inline]
    pub fn scalar(&self) -> Scalar<'_> {
        match self {
            Lit::Text(s) if s.is_empty() => Scalar::Empty,
            Lit::Text(s) => Scalar::Text((&**s).into()),
            Lit::Number(s) => Scalar::Number((&**s).into()),
            Lit::Integer(i) => Scalar::Integer(*i),
            Lit::Bool(b) => Scalar::Bool(*b),
            Lit::Date(d) => Scalar::Date(*d),
            Lit::Datetime(t) => Scalar::Datetime(*t),
        }
    }
}

/// A piece of an interpolated string.
#[derive(Clone, Debug, PartialEq)]
pub enum PPart {
    Text(Box<str>),
    Node(NodeId),
}

/// A prepared expression node. Children always have smaller ids than their parent.
#[derive(Clone, Debug, PartialEq)]
pub enum PNode {
    Lit(Lit),
    Case(CaseAttr),
    Field {
        name: Box<str>,
        ty: ScalarType,
    },
    Date {
        name: Box<str>,
        ty: ScalarType,
    },
    Person(PersonAttr),
    Address(AddressAttr),
    Ref {
        name: Box<str>,
    },
    Aurora {
        path: Box<[Box<str>]>,
        ty: ScalarType,
    },
    Udf {
        code: Box<str>,
        ty: ScalarType,
    },
    UdfDynamic {
        key: NodeId,
    },
    Interp(Box<[PPart]>),
    /// Calls whose arguments are all expressions.
    Call {
        func: Builtin,
        args: Box<[NodeId]>,
    },
    Truncate {
        a: NodeId,
        n: usize,
    },
    /// `date(a, fmt)` / `datetime(a, fmt)`.
    Parse {
        a: NodeId,
        fmt: Box<str>,
        datetime: bool,
    },
    /// `format(a, fmt)`; `decimals` when `fmt` is a number format (`%.Nf`).
    Format {
        a: NodeId,
        fmt: Box<str>,
        decimals: Option<u8>,
    },
    Lookup {
        table: u32,
        key: NodeId,
    },
    If {
        cond: NodeId,
        then: NodeId,
        otherwise: NodeId,
    },
    Coalesce {
        a: NodeId,
        b: NodeId,
    },
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
    Exists {
        a: NodeId,
    },
    Widen {
        a: NodeId,
        to: ScalarType,
    },
}

impl PNode {
    /// Whether the node's value is text written piece by piece (so it can go straight into
    /// the output without a buffer).
    pub fn streams_text(&self) -> bool {
        match self {
            PNode::Interp(_) | PNode::Format { .. } | PNode::Truncate { .. } => true,
            PNode::Call { func, .. } => matches!(
                func,
                Builtin::Text
                    | Builtin::Upper
                    | Builtin::Lower
                    | Builtin::Trim
                    | Builtin::Replace
                    | Builtin::Join
                    | Builtin::Phone
            ),
            _ => false,
        }
    }

    fn children(&self) -> Vec<NodeId> {
        match self {
            PNode::Lit(_)
            | PNode::Case(_)
            | PNode::Field { .. }
            | PNode::Date { .. }
            | PNode::Person(_)
            | PNode::Address(_)
            | PNode::Ref { .. }
            | PNode::Aurora { .. }
            | PNode::Udf { .. } => vec![],
            PNode::UdfDynamic { key } => vec![*key],
            PNode::Interp(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    PPart::Node(n) => Some(*n),
                    PPart::Text(_) => None,
                })
                .collect(),
            PNode::Call { args, .. } => args.to_vec(),
            PNode::Truncate { a, .. }
            | PNode::Parse { a, .. }
            | PNode::Format { a, .. }
            | PNode::Require { a }
            | PNode::Not { a }
            | PNode::Exists { a }
            | PNode::Widen { a, .. } => vec![*a],
            PNode::Lookup { key, .. } => vec![*key],
            PNode::If {
                cond,
                then,
                otherwise,
            } => vec![*cond, *then, *otherwise],
            PNode::Coalesce { a, b }
            | PNode::Compare { a, b, .. }
            | PNode::And { a, b }
            | PNode::Or { a, b } => vec![*a, *b],
        }
    }
}

/// What a prepared mapping writes.
#[derive(Clone, Debug, PartialEq)]
pub enum PTarget {
    Aurora {
        field: Box<str>,
        /// `"field":`
        key: Box<[u8]>,
        ty: ScalarType,
        wire: Wire,
        required: bool,
        max_length: Option<u32>,
    },
    Contact {
        field: Box<str>,
        required: bool,
    },
    Udf {
        code: Box<str>,
        /// The bytes before the value: `{"code":"X","value":` (list) or `"X":` (object).
        prefix: Box<[u8]>,
    },
    UdfDynamic {
        key: NodeId,
    },
    Field {
        name: Box<str>,
    },
    Date {
        name: Box<str>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PMapping {
    pub target: PTarget,
    pub value: NodeId,
    pub location: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PreparedTemplate {
    pub name: String,
    pub kind: TemplateKind,
    pub reference: String,
    pub location: String,
    pub nodes: Vec<PNode>,
    pub mappings: Vec<PMapping>,
    /// Mapping indices by what they write, each in source order.
    pub body: Vec<u32>,
    pub contact: Vec<u32>,
    pub udfs: Vec<u32>,
    /// Whether two UDF mappings could write the same code (only when a key is dynamic or a
    /// static code repeats); then the evaluator checks codes as it writes them.
    pub udf_codes_checked: bool,
}

/// A table's keys, by the key type.
#[derive(Clone, Debug, PartialEq)]
pub enum TableIndex {
    /// Text keys, and number keys in canonical form.
    Text(HashMap<Box<str>, u32>),
    Integer(HashMap<i64, u32>),
    Bool([Option<u32>; 2]),
    Date(HashMap<Date, u32>),
    Datetime(HashMap<Timestamp, u32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PreparedTable {
    pub name: String,
    pub key_type: ScalarType,
    pub values: Vec<Lit>,
    pub index: TableIndex,
}

impl PreparedTable {
    pub fn new(t: &TablePlan) -> Result<PreparedTable, String> {
        let mut values = Vec::with_capacity(t.entries.len());
        let mut index = match t.key_type {
            ScalarType::Text | ScalarType::Choice | ScalarType::Number => {
                TableIndex::Text(HashMap::with_capacity(t.entries.len()))
            }
            ScalarType::Integer => TableIndex::Integer(HashMap::with_capacity(t.entries.len())),
            ScalarType::Bool => TableIndex::Bool([None, None]),
            ScalarType::Date => TableIndex::Date(HashMap::with_capacity(t.entries.len())),
            ScalarType::Datetime => TableIndex::Datetime(HashMap::with_capacity(t.entries.len())),
        };
        for (k, v) in &t.entries {
            let at = values.len() as u32;
            let key = Lit::from_value(k)?;
            let inserted = match (&mut index, key) {
                (TableIndex::Text(m), Lit::Text(s) | Lit::Number(s)) => m.insert(s, at).is_none(),
                (TableIndex::Integer(m), Lit::Integer(i)) => m.insert(i, at).is_none(),
                (TableIndex::Bool(slots), Lit::Bool(b)) => {
                    slots[usize::from(b)].replace(at).is_none()
                }
                (TableIndex::Date(m), Lit::Date(d)) => m.insert(d, at).is_none(),
                (TableIndex::Datetime(m), Lit::Datetime(ts)) => m.insert(ts, at).is_none(),
                (_, other) => {
                    return Err(format!(
                        "table `{}` has a key of the wrong type ({other:?})",
                        t.name
                    ));
                }
            };
            if !inserted {
                return Err(format!("table `{}` has a duplicate key", t.name));
            }
            values.push(Lit::from_value(v)?);
        }
        Ok(PreparedTable {
            name: t.name.clone(),
            key_type: t.key_type,
            values,
            index,
        })
    }

    /// The value for a key, converted to the key type where the language converts
    /// implicitly (an integer into a number key, a date into a datetime key).
    pub fn get(&self, key: &Scalar<'_>) -> Option<&Lit> {
        let at = match (&self.index, key) {
            (TableIndex::Text(m), Scalar::Text(s) | Scalar::Number(s)) => m.get(&**s),
            (TableIndex::Text(m), Scalar::Integer(i)) => {
                let mut buf = itoa_buf();
                m.get(itoa(*i, &mut buf))
            }
            (TableIndex::Text(m), other) => {
                let text = other.clone().into_text();
                m.get(text.as_ref())
            }
            (TableIndex::Integer(m), Scalar::Integer(i)) => m.get(i),
            (TableIndex::Integer(m), Scalar::Number(s)) => {
                s.parse::<i64>().ok().and_then(|i| m.get(&i))
            }
            (TableIndex::Bool(slots), Scalar::Bool(b)) => slots[usize::from(*b)].as_ref(),
            (TableIndex::Date(m), Scalar::Date(d)) => m.get(d),
            (TableIndex::Datetime(m), Scalar::Datetime(t)) => m.get(t),
            (TableIndex::Datetime(m), Scalar::Date(d)) => {
                date_to_datetime(*d).and_then(|t| m.get(&t))
            }
            _ => None,
        }?;
        self.values.get(*at as usize)
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats an integer into `buf` without allocating.
pub fn itoa(i: i64, buf: &mut [u8; 20]) -> &str {
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

/// UDF handling prepared from the bundle's `udf_wire` and UDF list.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedUdfs {
    pub wire: UdfWire,
    /// `"userDefinedFields":`
    pub field_key: Box<[u8]>,
    pub snapshot_path: Box<[Box<str>]>,
    pub entries: Vec<UdfEntry>,
    by_code: HashMap<String, u32>,
    /// Lower-cased name → indices of the UDFs with that name.
    by_name: HashMap<String, Vec<u32>>,
}

/// Why a run-time UDF key names no single UDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdfKeyProblem {
    NoMatch(String),
    Ambiguous(String, usize),
}

impl PreparedUdfs {
    fn new(wire: &UdfWire, entries: &[UdfEntry]) -> PreparedUdfs {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, u) in entries.iter().enumerate() {
            by_code.entry(u.code.clone()).or_insert(i as u32);
            by_name
                .entry(u.name.to_ascii_lowercase())
                .or_default()
                .push(i as u32);
        }
        PreparedUdfs {
            wire: wire.clone(),
            field_key: key_bytes(&wire.field),
            snapshot_path: split_path(&wire.snapshot_path),
            entries: entries.to_vec(),
            by_code,
            by_name,
        }
    }

    /// Resolves a key as the language does: by code (exact), then by name (ignoring case).
    pub fn resolve(&self, key: &str) -> Result<&UdfEntry, UdfKeyProblem> {
        if let Some(&i) = self.by_code.get(key) {
            return Ok(&self.entries[i as usize]);
        }
        match self
            .by_name
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
        {
            Some([i]) => Ok(&self.entries[*i as usize]),
            Some(many) if many.len() > 1 => {
                Err(UdfKeyProblem::Ambiguous(key.to_string(), many.len()))
            }
            _ => Err(UdfKeyProblem::NoMatch(key.to_string())),
        }
    }

    /// The bytes written before a UDF's value.
    pub fn prefix(&self, code: &str) -> Box<[u8]> {
        let mut out = Vec::with_capacity(code.len() + 24);
        match self.wire.style {
            UdfWireStyle::List => {
                out.push(b'{');
                write_string(&mut out, &self.wire.code_key);
                out.push(b':');
                write_string(&mut out, code);
                out.push(b',');
                write_string(&mut out, &self.wire.value_key);
                out.push(b':');
            }
            UdfWireStyle::Object => {
                write_string(&mut out, code);
                out.push(b':');
            }
        }
        out.into_boxed_slice()
    }
}

fn split_path(path: &str) -> Box<[Box<str>]> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(Box::from)
        .collect()
}

/// A bundle ready to evaluate. Build it once per loaded bundle; it is immutable and can be
/// shared between threads.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedBundle {
    pub templates: Vec<PreparedTemplate>,
    pub tables: Vec<PreparedTable>,
    pub udfs: PreparedUdfs,
    by_name: HashMap<String, usize>,
    /// Incoming templates by reference, in bundle order.
    incoming: HashMap<String, Vec<usize>>,
}

/// A template of a prepared bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TemplateId(pub(crate) usize);

impl PreparedBundle {
    pub fn new(bundle: &Bundle) -> Result<PreparedBundle, PrepareError> {
        let tables = bundle
            .tables
            .iter()
            .map(PreparedTable::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| PrepareError {
                template: String::new(),
                reason,
            })?;
        let udfs = PreparedUdfs::new(&bundle.udf_wire, &bundle.udfs);
        let mut templates = Vec::with_capacity(bundle.templates.len());
        let mut by_name = HashMap::new();
        let mut incoming: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in bundle.templates.iter().enumerate() {
            let p = prepare_template(t, &tables, &udfs).map_err(|reason| PrepareError {
                template: t.name.clone(),
                reason,
            })?;
            by_name.entry(t.name.clone()).or_insert(i);
            if t.kind == TemplateKind::Incoming {
                incoming.entry(t.reference.clone()).or_default().push(i);
            }
            templates.push(p);
        }
        Ok(PreparedBundle {
            templates,
            tables,
            udfs,
            by_name,
            incoming,
        })
    }

    pub fn template_id(&self, name: &str) -> Option<TemplateId> {
        self.by_name.get(name).map(|&i| TemplateId(i))
    }

    pub fn template(&self, id: TemplateId) -> &PreparedTemplate {
        &self.templates[id.0]
    }

    /// The incoming templates of a reference, in bundle order.
    pub fn incoming_of(&self, reference: &str) -> &[usize] {
        self.incoming
            .get(reference)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn prepare_template(
    t: &TemplatePlan,
    tables: &[PreparedTable],
    udfs: &PreparedUdfs,
) -> Result<PreparedTemplate, String> {
    let mut nodes = Vec::with_capacity(t.nodes.len());
    let mut depth: Vec<u32> = Vec::with_capacity(t.nodes.len());
    for (i, node) in t.nodes.iter().enumerate() {
        let p = prepare_node(node, i as NodeId, &t.nodes, tables)?;
        let mut d = 1;
        for c in p.children() {
            if c as usize >= i {
                return Err(format!(
                    "node {i} refers to node {c}, which does not come before it"
                ));
            }
            d = d.max(depth[c as usize] + 1);
        }
        if d > MAX_DEPTH {
            return Err(format!("expressions nest deeper than {MAX_DEPTH} levels"));
        }
        depth.push(d);
        nodes.push(p);
    }
    let n = nodes.len();
    let check = |id: NodeId| -> Result<NodeId, String> {
        if (id as usize) < n {
            Ok(id)
        } else {
            Err(format!(
                "a mapping refers to node {id}, which does not exist"
            ))
        }
    };
    let mut mappings = Vec::with_capacity(t.mappings.len());
    let (mut body, mut contact, mut udf_list) = (Vec::new(), Vec::new(), Vec::new());
    let mut static_codes: Vec<&str> = Vec::new();
    let mut udf_codes_checked = false;
    for (i, m) in t.mappings.iter().enumerate() {
        let target = match &m.target {
            TargetRef::Aurora {
                field,
                ty,
                wire,
                required,
                max_length,
            } => {
                body.push(i as u32);
                PTarget::Aurora {
                    field: field.as_str().into(),
                    key: key_bytes(field),
                    ty: *ty,
                    wire: *wire,
                    required: *required,
                    max_length: *max_length,
                }
            }
            TargetRef::Contact {
                field, required, ..
            } => {
                contact.push(i as u32);
                PTarget::Contact {
                    field: field.as_str().into(),
                    required: *required,
                }
            }
            TargetRef::Udf { code, .. } => {
                udf_list.push(i as u32);
                if static_codes.contains(&code.as_str()) {
                    udf_codes_checked = true;
                }
                static_codes.push(code);
                PTarget::Udf {
                    code: code.as_str().into(),
                    prefix: udfs.prefix(code),
                }
            }
            TargetRef::UdfDynamic { key } => {
                udf_list.push(i as u32);
                udf_codes_checked = true;
                PTarget::UdfDynamic { key: check(*key)? }
            }
            TargetRef::Field { name, .. } => PTarget::Field {
                name: name.as_str().into(),
            },
            TargetRef::Date { name, .. } => PTarget::Date {
                name: name.as_str().into(),
            },
        };
        let writes_connect = matches!(target, PTarget::Field { .. } | PTarget::Date { .. });
        if writes_connect != (t.kind == TemplateKind::Incoming) {
            return Err(format!(
                "the mapping at {} writes a target its kind of template cannot write",
                m.location
            ));
        }
        mappings.push(PMapping {
            target,
            value: check(m.value)?,
            location: m.location.clone(),
            text: m.text.clone(),
        });
    }
    Ok(PreparedTemplate {
        name: t.name.clone(),
        kind: t.kind,
        reference: t.reference.clone(),
        location: t.location.clone(),
        nodes,
        mappings,
        body,
        contact,
        udfs: udf_list,
        udf_codes_checked,
    })
}

fn prepare_node(
    node: &hir::Node,
    id: NodeId,
    all: &[hir::Node],
    tables: &[PreparedTable],
) -> Result<PNode, String> {
    use hir::Node as N;
    Ok(match node {
        N::Lit { value } => PNode::Lit(Lit::from_value(value)?),
        N::Source { source } => match source {
            Source::Case { attr } => PNode::Case(
                CaseAttr::from_name(attr)
                    .ok_or_else(|| format!("unknown attribute case.{attr}"))?,
            ),
            Source::Field { name, ty } => PNode::Field {
                name: name.as_str().into(),
                ty: *ty,
            },
            Source::Date { name, ty } => PNode::Date {
                name: name.as_str().into(),
                ty: *ty,
            },
            Source::Person { attr } => PNode::Person(
                PersonAttr::from_name(attr)
                    .ok_or_else(|| format!("unknown attribute person.{attr}"))?,
            ),
            Source::Address { attr } => PNode::Address(
                AddressAttr::from_name(attr)
                    .ok_or_else(|| format!("unknown attribute address.{attr}"))?,
            ),
            Source::Ref { name } => PNode::Ref {
                name: name.as_str().into(),
            },
            Source::Aurora { path, ty } => PNode::Aurora {
                path: split_path(path),
                ty: *ty,
            },
            Source::Udf { code, ty } => PNode::Udf {
                code: code.as_str().into(),
                ty: *ty,
            },
            Source::UdfDynamic { key } => PNode::UdfDynamic { key: *key },
        },
        N::Interp { parts } => PNode::Interp(
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => PPart::Text(t.as_str().into()),
                    Part::Node { node } => PPart::Node(*node),
                })
                .collect(),
        ),
        N::Call { func, args } => {
            let info = func.info();
            if !info.arity.accepts(args.len()) {
                return Err(format!(
                    "`{}` takes {}, but node {id} gives it {}",
                    info.name,
                    info.arity.describe(),
                    args.len()
                ));
            }
            let literal = |i: usize| -> Option<&hir::Value> {
                match all.get(args[i] as usize)? {
                    N::Lit { value } => Some(value),
                    _ => None,
                }
            };
            let text_literal = |i: usize| -> Result<Box<str>, String> {
                match literal(i) {
                    Some(hir::Value::Text(s)) => Ok(s.as_str().into()),
                    _ => Err(format!(
                        "the format given to `{}` in node {id} is not a text literal",
                        info.name
                    )),
                }
            };
            match func {
                Builtin::Truncate => match literal(1) {
                    Some(hir::Value::Integer(n)) if *n >= 0 => PNode::Truncate {
                        a: args[0],
                        n: usize::try_from(*n).unwrap_or(usize::MAX),
                    },
                    _ => {
                        return Err(format!(
                            "the length given to `truncate` in node {id} is not a literal count"
                        ));
                    }
                },
                Builtin::Date | Builtin::Datetime => PNode::Parse {
                    a: args[0],
                    fmt: text_literal(1)?,
                    datetime: *func == Builtin::Datetime,
                },
                Builtin::Format => {
                    let fmt = text_literal(1)?;
                    let decimals = super::builtins::number_format_decimals(&fmt);
                    PNode::Format {
                        a: args[0],
                        fmt,
                        decimals,
                    }
                }
                Builtin::Lookup => {
                    return Err(format!("node {id} calls `lookup` without a table"));
                }
                _ => PNode::Call {
                    func: *func,
                    args: args.as_slice().into(),
                },
            }
        }
        N::Lookup { table, key } => {
            if *table as usize >= tables.len() {
                return Err(format!(
                    "node {id} looks up table {table}, which does not exist"
                ));
            }
            PNode::Lookup {
                table: *table,
                key: *key,
            }
        }
        N::If {
            cond,
            then,
            otherwise,
        } => PNode::If {
            cond: *cond,
            then: *then,
            otherwise: *otherwise,
        },
        N::Coalesce { a, b } => PNode::Coalesce { a: *a, b: *b },
        N::Require { a } => PNode::Require { a: *a },
        N::Not { a } => PNode::Not { a: *a },
        N::Compare { op, a, b } => PNode::Compare {
            op: *op,
            a: *a,
            b: *b,
        },
        N::And { a, b } => PNode::And { a: *a, b: *b },
        N::Or { a, b } => PNode::Or { a: *a, b: *b },
        N::Exists { a } => PNode::Exists { a: *a },
        N::Widen { a, to } => PNode::Widen { a: *a, to: *to },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_format_without_allocating() {
        let mut buf = [0u8; 20];
        assert_eq!(itoa(0, &mut buf), "0");
        assert_eq!(itoa(-42, &mut buf), "-42");
        assert_eq!(itoa(i64::MIN, &mut buf), "-9223372036854775808");
        assert_eq!(itoa(i64::MAX, &mut buf), "9223372036854775807");
    }

    #[test]
    fn tables_convert_keys_as_the_language_does() {
        let t = PreparedTable::new(&TablePlan {
            name: "n".into(),
            key_type: ScalarType::Number,
            value_type: ScalarType::Text,
            entries: vec![(
                hir::Value::Number("5".into()),
                hir::Value::Text("five".into()),
            )],
        })
        .unwrap();
        assert_eq!(t.get(&Scalar::Integer(5)), Some(&Lit::Text("five".into())));
        assert_eq!(
            t.get(&Scalar::Number("5".into())),
            Some(&Lit::Text("five".into()))
        );
        assert_eq!(t.get(&Scalar::Number("5.5".into())), None);
        let t = PreparedTable::new(&TablePlan {
            name: "d".into(),
            key_type: ScalarType::Datetime,
            value_type: ScalarType::Integer,
            entries: vec![(
                hir::Value::Datetime("2025-12-02T00:00:00Z".into()),
                hir::Value::Integer(1),
            )],
        })
        .unwrap();
        let d: Date = "2025-12-02".parse().unwrap();
        assert_eq!(t.get(&Scalar::Date(d)), Some(&Lit::Integer(1)));
    }

    #[test]
    fn udf_keys_resolve_by_code_then_name() {
        let entry = |code: &str, name: &str| UdfEntry {
            code: code.into(),
            name: name.into(),
            ty: ScalarType::Text,
        };
        let u = PreparedUdfs::new(
            &UdfWire::default(),
            &[
                entry("HAZARD", "Hazard"),
                entry("S1", "Size"),
                entry("S2", "size"),
            ],
        );
        assert_eq!(u.resolve("HAZARD").map(|e| e.code.as_str()), Ok("HAZARD"));
        assert_eq!(u.resolve("hazard").map(|e| e.code.as_str()), Ok("HAZARD"));
        assert_eq!(
            u.resolve("SIZE"),
            Err(UdfKeyProblem::Ambiguous("SIZE".into(), 2))
        );
        assert_eq!(u.resolve("X"), Err(UdfKeyProblem::NoMatch("X".into())));
        assert_eq!(&*u.prefix("A\"B"), br#"{"code":"A\"B","value":"#);
    }
}
