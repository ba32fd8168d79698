//! The evaluator: walks a prepared template's nodes against one case (and, for incoming
//! templates, one snapshot). Values borrow from the case, the snapshot and the plan; text
//! that is computed piece by piece (interpolation, `upper`, `phone`, `format`, …) is written
//! straight into the output when it is a mapping's whole value.

use super::builtins::{self, Join};
use super::json::{JsonText, Limit, PlainText, Sink, write_string};
use super::prepare::{
    PMapping, PNode, PPart, PTarget, PreparedBundle, PreparedTemplate, UdfKeyProblem, itoa,
};
use super::value::{Misfit, Scalar, date_to_datetime, from_json};
use crate::check::functions::Builtin;
use crate::check::hir::{CompareOp, NodeId};
use crate::runtime::case::Case;
use crate::schema::{ScalarType, UdfWireStyle, Wire};
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::io::Write as _;

/// Why a node failed.
#[derive(Debug, PartialEq)]
pub enum FailKind {
    /// `a!` on an empty value (the node is the `!`).
    Empty,
    /// A fallible function failed (the node is the call).
    Function(String),
    /// A source holds a value that does not fit its declared type (the node is the source).
    Misfit(Misfit),
    /// A dynamic UDF key names no single UDF (the node is the `udf` source).
    UdfKey(UdfKeyProblem),
}

#[derive(Debug, PartialEq)]
pub struct Fail {
    pub node: NodeId,
    pub kind: FailKind,
}

pub type Res<T> = Result<T, Box<Fail>>;

#[cold]
fn fail(node: NodeId, kind: FailKind) -> Box<Fail> {
    Box::new(Fail { node, kind })
}

/// Why a mapping failed.
#[derive(Debug, PartialEq)]
pub enum MappingFail {
    Node(Box<Fail>),
    /// A required target received an empty value.
    RequiredEmpty,
    TooLong {
        max: u32,
        len: usize,
    },
    UdfKey(UdfKeyProblem),
    /// Two mappings write the same UDF.
    UdfTwice(String),
}

impl From<Box<Fail>> for MappingFail {
    fn from(f: Box<Fail>) -> Self {
        MappingFail::Node(f)
    }
}

/// Everything one evaluation reads.
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    pub plan: &'a PreparedBundle,
    pub t: &'a PreparedTemplate,
    pub case: &'a Case,
    pub snapshot: Option<&'a Value>,
    pub now: Timestamp,
}

impl<'a> Cx<'a> {
    #[inline]
    pub fn node(&self, id: NodeId) -> &'a PNode {
        // Ids are checked when the bundle is prepared.
        &self.t.nodes[id as usize]
    }

    /// The value of a node.
    pub fn eval(&self, id: NodeId) -> Res<Scalar<'a>> {
        let misfit = |m: Misfit| fail(id, FailKind::Misfit(m));
        match self.node(id) {
            PNode::Lit(l) => Ok(l.scalar()),
            PNode::Field { name, ty } => self.case.field(name, *ty).map_err(misfit),
            PNode::Person(attr) => Ok(self.case.person_attr(*attr)),
            PNode::Address(attr) => self.case.address_attr(*attr).map_err(misfit),
            PNode::Date { name, ty } => self.case.date(name, *ty).map_err(misfit),
            PNode::Case(attr) => self.case.attr(*attr).map_err(misfit),
            PNode::Ref { name } => self.case.reference_value(name).map_err(misfit),
            PNode::Aurora { path, ty } => match self.snapshot_at(path) {
                Some(v) => from_json(v, *ty).map_err(misfit),
                None => Ok(Scalar::Empty),
            },
            PNode::Udf { code, ty } => match self.snapshot_udf(code) {
                Some(v) => from_json(v, *ty).map_err(misfit),
                None => Ok(Scalar::Empty),
            },
            PNode::UdfDynamic { key } => {
                let key = self.eval(*key)?;
                if key.is_empty() {
                    return Ok(Scalar::Empty);
                }
                let key = key.into_text();
                let entry = self
                    .plan
                    .udfs
                    .resolve(&key)
                    .map_err(|p| fail(id, FailKind::UdfKey(p)))?;
                match self.snapshot_udf(&entry.code) {
                    Some(v) => from_json(v, entry.ty).map_err(misfit),
                    None => Ok(Scalar::Empty),
                }
            }
            PNode::Interp(parts) => {
                // One node and no text: its canonical text, borrowed where possible.
                if let [PPart::Node(n)] = &**parts {
                    return Ok(builtins::text(self.eval(*n)?));
                }
                let mut s = String::new();
                self.emit(id, &mut PlainText { out: &mut s })?;
                Ok(text_or_empty(s))
            }
            PNode::Call { func, args } => self.call(id, *func, args),
            PNode::Truncate { a, n } => Ok(builtins::truncate(self.eval(*a)?, *n)),
            PNode::Parse { a, fmt, datetime } => {
                let x = self.eval(*a)?;
                if x.is_empty() {
                    return Ok(Scalar::Empty);
                }
                let r = if *datetime {
                    builtins::datetime(x, fmt)
                } else {
                    builtins::date(x, fmt)
                };
                r.map_err(|reason| fail(id, FailKind::Function(reason)))
            }
            PNode::Format { a, fmt, decimals } => {
                Ok(builtins::format(self.eval(*a)?, fmt, *decimals))
            }
            PNode::Lookup { table, key } => {
                let key = self.eval(*key)?;
                Ok(builtins::lookup(&self.plan.tables[*table as usize], &key))
            }
            PNode::If {
                cond,
                then,
                otherwise,
            } => {
                if self.truthy(*cond)? {
                    self.eval(*then)
                } else {
                    self.eval(*otherwise)
                }
            }
            PNode::Coalesce { a, b } => match self.eval(*a) {
                Ok(v) if !v.is_empty() => Ok(v),
                _ => self.eval(*b),
            },
            PNode::Require { a } => {
                let v = self.eval(*a)?;
                if v.is_empty() {
                    Err(fail(id, FailKind::Empty))
                } else {
                    Ok(v)
                }
            }
            PNode::Not { a } => Ok(match self.eval(*a)? {
                Scalar::Bool(b) => Scalar::Bool(!b),
                Scalar::Empty => Scalar::Empty,
                _ => Scalar::Bool(false),
            }),
            PNode::Compare { op, a, b } => {
                let eq = equal(&self.eval(*a)?, &self.eval(*b)?);
                Ok(Scalar::Bool(if *op == CompareOp::Eq { eq } else { !eq }))
            }
            PNode::And { a, b } => Ok(Scalar::Bool(self.truthy(*a)? && self.truthy(*b)?)),
            PNode::Or { a, b } => Ok(Scalar::Bool(self.truthy(*a)? || self.truthy(*b)?)),
            PNode::Exists { a } => Ok(Scalar::Bool(match self.eval(*a) {
                Ok(v) => !v.is_empty(),
                // A value is there, even if it does not fit its type.
                Err(_) => true,
            })),
            PNode::Widen { a, to } => {
                let v = self.eval(*a)?;
                Ok(match (v, to) {
                    (Scalar::Date(d), ScalarType::Datetime) => {
                        date_to_datetime(d).map_or(Scalar::Empty, Scalar::Datetime)
                    }
                    (v, _) => v,
                })
            }
        }
    }

    fn call(&self, id: NodeId, func: Builtin, args: &'a [NodeId]) -> Res<Scalar<'a>> {
        let arg = |i: usize| match args.get(i) {
            Some(&n) => self.eval(n),
            None => Ok(Scalar::Empty),
        };
        let failed = |reason: String| fail(id, FailKind::Function(reason));
        Ok(match func {
            Builtin::Text => builtins::text(arg(0)?),
            Builtin::Number => builtins::number(arg(0)?).map_err(failed)?,
            Builtin::Integer => builtins::integer(arg(0)?).map_err(failed)?,
            Builtin::Upper => builtins::upper(arg(0)?),
            Builtin::Lower => builtins::lower(arg(0)?),
            Builtin::Trim => builtins::trim(arg(0)?),
            Builtin::Phone => builtins::phone(arg(0)?),
            Builtin::Replace => {
                let x = arg(0)?;
                let from = arg(1)?.into_text();
                let to = arg(2)?.into_text();
                builtins::replace(x, &from, &to)
            }
            Builtin::Join => {
                let mut s = String::new();
                self.emit(id, &mut PlainText { out: &mut s })?;
                text_or_empty(s)
            }
            Builtin::Now => builtins::now(self.now),
            // Prepared into their own nodes.
            Builtin::Truncate
            | Builtin::Date
            | Builtin::Datetime
            | Builtin::Format
            | Builtin::Lookup => Scalar::Empty,
        })
    }

    #[inline]
    fn truthy(&self, id: NodeId) -> Res<bool> {
        Ok(matches!(self.eval(id)?, Scalar::Bool(true)))
    }

    /// Writes the canonical text of a node into a sink.
    pub fn emit(&self, id: NodeId, w: &mut dyn Sink) -> Res<()> {
        match self.node(id) {
            PNode::Interp(parts) => {
                for p in parts.iter() {
                    match p {
                        PPart::Text(t) => {
                            let _ = w.write_str(t);
                        }
                        PPart::Node(n) => self.emit(*n, w)?,
                    }
                }
                Ok(())
            }
            PNode::Call { func, args } => {
                let arg = |i: usize| match args.get(i) {
                    Some(&n) => self.eval(n),
                    None => Ok(Scalar::Empty),
                };
                match func {
                    Builtin::Upper | Builtin::Lower | Builtin::Phone => {
                        let x = arg(0)?;
                        match x.as_text() {
                            Some(s) => match func {
                                Builtin::Upper => builtins::upper_into(s, w),
                                Builtin::Lower => builtins::lower_into(s, w),
                                _ => builtins::phone_into(s, w),
                            },
                            None => {
                                let _ = x.write_canonical(w);
                            }
                        }
                        Ok(())
                    }
                    Builtin::Replace => {
                        let x = arg(0)?;
                        let from = arg(1)?.into_text();
                        let to = arg(2)?.into_text();
                        match x.as_text() {
                            Some(s) => builtins::replace_into(s, &from, &to, w),
                            None => {
                                let _ = x.write_canonical(w);
                            }
                        }
                        Ok(())
                    }
                    Builtin::Join => {
                        let sep = arg(0)?.into_text();
                        let mut j = Join::default();
                        for &a in args.iter().skip(1) {
                            let part = self.eval(a)?;
                            j.push(&sep, &part, w);
                        }
                        Ok(())
                    }
                    _ => self.emit_value(id, w),
                }
            }
            PNode::Format { a, fmt, decimals } => {
                let x = self.eval(*a)?;
                builtins::format_into(&x, fmt, *decimals, w);
                Ok(())
            }
            PNode::Coalesce { a, b } => {
                let mark = w.mark();
                let written = w.written();
                match self.emit(*a, w) {
                    Ok(()) if w.written() > written => Ok(()),
                    _ => {
                        w.reset(mark);
                        self.emit(*b, w)
                    }
                }
            }
            PNode::Truncate { a, n } if !w.is_limited() => {
                let mut limited = Limit {
                    inner: w,
                    budget: *n,
                };
                self.emit(*a, &mut limited)
            }
            PNode::If {
                cond,
                then,
                otherwise,
            } => {
                if self.truthy(*cond)? {
                    self.emit(*then, w)
                } else {
                    self.emit(*otherwise, w)
                }
            }
            _ => self.emit_value(id, w),
        }
    }

    #[inline]
    fn emit_value(&self, id: NodeId, w: &mut dyn Sink) -> Res<()> {
        let v = self.eval(id)?;
        let _ = v.write_canonical(w);
        Ok(())
    }

    /// A dotted path into the snapshot (numeric segments index lists).
    pub fn snapshot_at(&self, path: &[Box<str>]) -> Option<&'a Value> {
        let mut v = self.snapshot?;
        for seg in path {
            v = match v {
                Value::Object(m) => m.get(&**seg)?,
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// A UDF's value in the snapshot, where `udf_wire.snapshot_path` says UDFs are.
    pub fn snapshot_udf(&self, code: &str) -> Option<&'a Value> {
        let wire = &self.plan.udfs.wire;
        match self.snapshot_at(&self.plan.udfs.snapshot_path)? {
            Value::Array(items) => items
                .iter()
                .find(|item| {
                    item.get(&wire.snapshot_code_key).and_then(Value::as_str) == Some(code)
                })?
                .get(&wire.snapshot_value_key),
            Value::Object(m) => m.get(code),
            _ => None,
        }
    }

    /// Writes a node's value as JSON; `Ok(false)` (and nothing written) when it is empty.
    fn write_json(
        &self,
        node: NodeId,
        wire: Wire,
        max_length: Option<u32>,
        out: &mut Vec<u8>,
    ) -> Result<bool, MappingFail> {
        let start = out.len();
        if self.node(node).streams_text() {
            out.push(b'"');
            let mut w = JsonText::new(out);
            let r = self.emit(node, &mut w);
            let written = w.written;
            if let Err(f) = r {
                out.truncate(start);
                return Err(f.into());
            }
            if written == 0 {
                out.truncate(start);
                return Ok(false);
            }
            out.push(b'"');
            if let Some(max) = max_length
                && written > max as usize
            {
                let len = self.eval(node)?.into_text().chars().count();
                if len > max as usize {
                    out.truncate(start);
                    return Err(MappingFail::TooLong { max, len });
                }
            }
            return Ok(true);
        }
        let v = self.eval(node)?;
        write_scalar(&v, wire, max_length, out)
    }

    /// Writes the CreateCase body of a create template into `out` and collects the contact
    /// fields. On failure, the index of the mapping that failed.
    pub fn write_create(
        &self,
        out: &mut Vec<u8>,
        contact: &mut Map<String, Value>,
    ) -> Result<(), (u32, MappingFail)> {
        let t = self.t;
        out.push(b'{');
        let mut first = true;
        for &i in &t.body {
            let m = &t.mappings[i as usize];
            let PTarget::Aurora {
                key,
                wire,
                required,
                max_length,
                ..
            } = &m.target
            else {
                continue;
            };
            let start = out.len();
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match self.write_json(m.value, *wire, *max_length, out) {
                Ok(true) => first = false,
                Ok(false) => {
                    out.truncate(start);
                    if *required {
                        return Err((i, MappingFail::RequiredEmpty));
                    }
                }
                Err(e) => {
                    out.truncate(start);
                    return Err((i, e));
                }
            }
        }
        for &i in &t.contact {
            self.contact_field(&t.mappings[i as usize], contact)
                .map_err(|e| (i, e))?;
        }
        if !t.udfs.is_empty() {
            let start = out.len();
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(&self.plan.udfs.field_key);
            let list = self.plan.udfs.wire.style == UdfWireStyle::List;
            out.push(if list { b'[' } else { b'{' });
            let open_at = out.len();
            let mut seen: Vec<&'a str> = Vec::new();
            for &i in &t.udfs {
                let m = &t.mappings[i as usize];
                let entry_start = out.len();
                if entry_start > open_at {
                    out.push(b',');
                }
                match self.write_udf(m, out, &mut seen) {
                    Ok(true) => {
                        if list {
                            out.push(b'}');
                        }
                    }
                    Ok(false) => out.truncate(entry_start),
                    Err(e) => {
                        out.truncate(start);
                        return Err((i, e));
                    }
                }
            }
            if out.len() == open_at {
                out.truncate(start);
            } else {
                out.push(if list { b']' } else { b'}' });
            }
        }
        out.push(b'}');
        Ok(())
    }

    fn contact_field(
        &self,
        m: &PMapping,
        contact: &mut Map<String, Value>,
    ) -> Result<(), MappingFail> {
        let PTarget::Contact { field, required } = &m.target else {
            return Ok(());
        };
        let v = self.eval(m.value)?;
        if v.is_empty() {
            if *required {
                return Err(MappingFail::RequiredEmpty);
            }
            return Ok(());
        }
        contact.insert(field.to_string(), v.to_json());
        Ok(())
    }

    /// Writes one UDF entry (without the closing `}` of a list entry); `Ok(false)` when
    /// there is nothing to write.
    fn write_udf(
        &self,
        m: &'a PMapping,
        out: &mut Vec<u8>,
        seen: &mut Vec<&'a str>,
    ) -> Result<bool, MappingFail> {
        let udfs = &self.plan.udfs;
        let (code, prefix): (&'a str, Cow<'a, [u8]>) = match &m.target {
            PTarget::Udf { code, prefix } => (code, Cow::Borrowed(&**prefix)),
            PTarget::UdfDynamic { key } => {
                let k = self.eval(*key)?;
                if k.is_empty() {
                    return Ok(false);
                }
                let entry = udfs.resolve(&k.into_text()).map_err(MappingFail::UdfKey)?;
                (&entry.code, Cow::Owned(udfs.prefix(&entry.code).into_vec()))
            }
            _ => return Ok(false),
        };
        if self.t.udf_codes_checked && seen.contains(&code) {
            return Err(MappingFail::UdfTwice(code.to_string()));
        }
        let start = out.len();
        out.extend_from_slice(&prefix);
        let wrote = self.write_json(m.value, Wire::Native, None, out);
        if !matches!(wrote, Ok(true)) {
            out.truncate(start);
        }
        if self.t.udf_codes_checked && matches!(wrote, Ok(true)) {
            seen.push(code);
        }
        wrote
    }

    /// Runs every mapping of a create template in source order, on its own, and returns
    /// the first that fails (so a failure is reported where the template reads first).
    pub fn first_create_failure(&self) -> Option<(u32, MappingFail)> {
        let mut scratch = Vec::new();
        let mut contact = Map::new();
        let mut seen = Vec::new();
        for (i, m) in self.t.mappings.iter().enumerate() {
            scratch.clear();
            let r = match &m.target {
                PTarget::Aurora {
                    wire,
                    required,
                    max_length,
                    ..
                } => match self.write_json(m.value, *wire, *max_length, &mut scratch) {
                    Ok(false) if *required => Err(MappingFail::RequiredEmpty),
                    r => r.map(|_| ()),
                },
                PTarget::Contact { .. } => self.contact_field(m, &mut contact),
                PTarget::Udf { .. } | PTarget::UdfDynamic { .. } => {
                    self.write_udf(m, &mut scratch, &mut seen).map(|_| ())
                }
                PTarget::Field { .. } | PTarget::Date { .. } => Ok(()),
            };
            if let Err(e) = r {
                return Some((i as u32, e));
            }
        }
        None
    }
}

fn text_or_empty(s: String) -> Scalar<'static> {
    if s.is_empty() {
        Scalar::Empty
    } else {
        Scalar::Text(Cow::Owned(s))
    }
}

/// Writes a value as JSON in its natural type (`wire = "string"` quotes numbers and bools);
/// `Ok(false)` when it is empty.
pub fn write_scalar(
    v: &Scalar<'_>,
    wire: Wire,
    max_length: Option<u32>,
    out: &mut Vec<u8>,
) -> Result<bool, MappingFail> {
    let quoted = wire == Wire::String;
    match v {
        Scalar::Empty => return Ok(false),
        Scalar::Text(s) => {
            if s.is_empty() {
                return Ok(false);
            }
            if let Some(max) = max_length
                && s.len() > max as usize
            {
                let len = s.chars().count();
                if len > max as usize {
                    return Err(MappingFail::TooLong { max, len });
                }
            }
            write_string(out, s);
        }
        Scalar::Number(s) => raw(out, s, quoted),
        Scalar::Integer(i) => {
            let mut buf = [0u8; 20];
            raw(out, itoa(*i, &mut buf), quoted);
        }
        Scalar::Bool(b) => raw(out, if *b { "true" } else { "false" }, quoted),
        Scalar::Date(d) => {
            let _ = write!(out, "\"{d}\"");
        }
        Scalar::Datetime(t) => {
            let _ = write!(out, "\"{t}\"");
        }
    }
    Ok(true)
}

#[inline]
fn raw(out: &mut Vec<u8>, s: &str, quoted: bool) {
    if quoted {
        out.push(b'"');
    }
    out.extend_from_slice(s.as_bytes());
    if quoted {
        out.push(b'"');
    }
}

/// Equality as `==` means it: empty equals only empty; numbers by value whatever their
/// form; a date equals the datetime at its midnight (UTC).
pub fn equal(a: &Scalar<'_>, b: &Scalar<'_>) -> bool {
    use Scalar as S;
    match (a, b) {
        (x, y) if x.is_empty() || y.is_empty() => x.is_empty() && y.is_empty(),
        (S::Text(x), S::Text(y)) | (S::Number(x), S::Number(y)) => x == y,
        (S::Integer(x), S::Integer(y)) => x == y,
        (S::Integer(i), S::Number(n)) | (S::Number(n), S::Integer(i)) => {
            let mut buf = [0u8; 20];
            itoa(*i, &mut buf) == &**n
        }
        (S::Bool(x), S::Bool(y)) => x == y,
        (S::Date(x), S::Date(y)) => x == y,
        (S::Datetime(x), S::Datetime(y)) => x == y,
        (S::Date(d), S::Datetime(t)) | (S::Datetime(t), S::Date(d)) => {
            date_to_datetime(*d) == Some(*t)
        }
        (x, y) => x.clone().into_text() == y.clone().into_text(),
    }
}
