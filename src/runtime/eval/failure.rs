//! Validation failures, in words: which template, `file:line`, the mapping as written, and
//! why ("aurora.description is required but field.details is empty"). Messages are built
//! only when something failed, by looking at the nodes again.

use super::evaluator::{Cx, Fail, FailKind, MappingFail};
use super::prepare::{Lit, PNode, PPart, PTarget, UdfKeyProblem};
use super::value::{Scalar, show_text};
use crate::check::hir::{CompareOp, NodeId};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};

/// A case that cannot be mapped: never retried, reported to people as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{location}: template \"{template}\": {reason}{}", mapping_suffix(.mapping))]
pub struct EvalFailure {
    pub template: String,
    /// `file:line` of the mapping (of the template, when no single mapping is at fault).
    pub location: String,
    /// The mapping as written (empty when no single mapping is at fault).
    pub mapping: String,
    /// Why, in words.
    pub reason: String,
}

fn mapping_suffix(mapping: &str) -> String {
    if mapping.is_empty() {
        String::new()
    } else {
        format!(" (in `{mapping}`)")
    }
}

impl EvalFailure {
    /// A failure of the template as a whole.
    pub fn template(name: &str, location: &str, reason: impl Into<String>) -> EvalFailure {
        EvalFailure {
            template: name.to_string(),
            location: location.to_string(),
            mapping: String::new(),
            reason: reason.into(),
        }
    }
}

impl Cx<'_> {
    /// The failure of mapping `index`, in words.
    pub fn mapping_failure(&self, index: u32, why: &MappingFail) -> EvalFailure {
        let t = self.t;
        let Some(m) = t.mappings.get(index as usize) else {
            return EvalFailure::template(&t.name, &t.location, "a mapping failed");
        };
        let reason = match why {
            MappingFail::Node(f) => self.describe(f),
            MappingFail::RequiredEmpty => format!(
                "{} is required but {}",
                self.target_text(&m.target),
                self.culprit(m.value)
            ),
            MappingFail::TooLong { max, len } => format!(
                "{} takes at most {max} characters, but the value has {len} (cut it with truncate)",
                self.target_text(&m.target)
            ),
            MappingFail::UdfKey(p) => udf_key_problem(p),
            MappingFail::UdfTwice(code) => {
                format!("udf \"{code}\" is written by more than one mapping of this template")
            }
        };
        EvalFailure {
            template: t.name.clone(),
            location: m.location.clone(),
            mapping: m.text.clone(),
            reason,
        }
    }

    /// Why a node failed.
    pub fn describe(&self, f: &Fail) -> String {
        match &f.kind {
            FailKind::Empty => {
                let inner = match self.node(f.node) {
                    PNode::Require { a } => *a,
                    _ => f.node,
                };
                format!(
                    "{}! failed: {}",
                    self.show_operand(inner),
                    self.culprit(inner)
                )
            }
            FailKind::Function(reason) => format!("{} failed: {reason}", self.show(f.node)),
            FailKind::Misfit(m) => format!("{} {m}", self.show(f.node)),
            FailKind::UdfKey(p) => udf_key_problem(p),
        }
    }

    /// Why a node is empty: the first empty source it reads, or a table without the key.
    pub fn culprit(&self, id: NodeId) -> String {
        let empty = |n: NodeId| matches!(self.eval(n), Ok(v) if v.is_empty());
        match self.node(id) {
            PNode::Lookup { table, key } => match self.eval(*key) {
                Ok(k) if !k.is_empty() => format!(
                    "the table {} has no entry for {}",
                    self.plan.tables[*table as usize].name,
                    show_scalar(&k)
                ),
                _ => self.culprit(*key),
            },
            PNode::Coalesce { b, .. } => self.culprit(*b),
            PNode::If {
                cond,
                then,
                otherwise,
            } => match self.eval(*cond) {
                Ok(Scalar::Bool(true)) => self.culprit(*then),
                _ => self.culprit(*otherwise),
            },
            PNode::Require { a } | PNode::Widen { a, .. } => self.culprit(*a),
            PNode::Interp(parts) => {
                for p in parts.iter() {
                    if let PPart::Node(n) = p
                        && empty(*n)
                    {
                        return self.culprit(*n);
                    }
                }
                format!("{} is empty", self.show(id))
            }
            PNode::Call { args, .. } => match args.iter().find(|a| empty(**a)) {
                Some(a) => self.culprit(*a),
                None => format!("{} is empty", self.show(id)),
            },
            PNode::Truncate { a, .. } | PNode::Parse { a, .. } | PNode::Format { a, .. }
                if empty(*a) =>
            {
                self.culprit(*a)
            }
            _ => format!("{} is empty", self.show(id)),
        }
    }

    /// How a target is written in a template.
    pub fn target_text(&self, target: &PTarget) -> String {
        match target {
            PTarget::Aurora { field, .. } => format!("aurora.{field}"),
            PTarget::Contact { field, .. } => format!("contact.{field}"),
            PTarget::Udf { code, .. } => format!("udf \"{code}\""),
            PTarget::UdfDynamic { key } => format!("udf {}", self.show(*key)),
            PTarget::Field { name } => format!("field{}", name_text(name)),
            PTarget::Date { name } => format!("date{}", name_text(name)),
        }
    }

    /// An expression as it would be written in a template.
    pub fn show(&self, id: NodeId) -> String {
        let mut s = String::new();
        self.show_into(id, &mut s);
        s
    }

    /// Like [`show`](Self::show), in parentheses when it is made of operators.
    fn show_operand(&self, id: NodeId) -> String {
        match self.node(id) {
            PNode::Coalesce { .. }
            | PNode::If { .. }
            | PNode::Not { .. }
            | PNode::Compare { .. }
            | PNode::And { .. }
            | PNode::Or { .. } => format!("({})", self.show(id)),
            PNode::Widen { a, .. } => self.show_operand(*a),
            _ => self.show(id),
        }
    }

    fn show_into(&self, id: NodeId, out: &mut String) {
        let node = self.node(id);
        let _ = match node {
            PNode::Lit(l) => write_lit(l, out),
            PNode::Case(a) => write!(out, "case.{}", a.name()),
            PNode::Field { name, .. } => write!(out, "field{}", name_text(name)),
            PNode::Date { name, .. } => write!(out, "date{}", name_text(name)),
            PNode::Person(a) => write!(out, "person.{}", a.name()),
            PNode::Address(a) => write!(out, "address.{}", a.name()),
            PNode::Ref { name } => write!(out, "ref{}", name_text(name)),
            PNode::Aurora { path, .. } => write!(out, "aurora.{}", path.join(".")),
            PNode::Udf { code, .. } => write!(out, "udf \"{code}\""),
            PNode::UdfDynamic { key } => write!(out, "udf {}", self.show(*key)),
            PNode::Interp(parts) => {
                out.push('"');
                for p in parts.iter() {
                    match p {
                        PPart::Text(t) => escape_literal(t, out),
                        PPart::Node(n) => {
                            out.push('{');
                            self.show_into(*n, out);
                            out.push('}');
                        }
                    }
                }
                out.push('"');
                Ok(())
            }
            PNode::Call { func, args } => {
                out.push_str(func.info().name);
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.show_into(*a, out);
                }
                out.push(')');
                Ok(())
            }
            PNode::Truncate { a, n } => write!(out, "truncate({}, {n})", self.show(*a)),
            PNode::Parse { a, fmt, datetime } => write!(
                out,
                "{}({}, {})",
                if *datetime { "datetime" } else { "date" },
                self.show(*a),
                quoted(fmt)
            ),
            PNode::Format { a, fmt, .. } => {
                write!(out, "format({}, {})", self.show(*a), quoted(fmt))
            }
            PNode::Lookup { table, key } => write!(
                out,
                "lookup({}, {})",
                self.show(*key),
                self.plan.tables[*table as usize].name
            ),
            PNode::If {
                cond,
                then,
                otherwise,
            } => write!(
                out,
                "if {} then {} else {}",
                self.show(*cond),
                self.show(*then),
                self.show(*otherwise)
            ),
            PNode::Coalesce { a, b } => write!(out, "{} ?? {}", self.show(*a), self.show(*b)),
            PNode::Require { a } => write!(out, "{}!", self.show_operand(*a)),
            PNode::Not { a } => write!(out, "not {}", self.show_operand(*a)),
            PNode::Compare { op, a, b } => write!(
                out,
                "{} {} {}",
                self.show_operand(*a),
                if *op == CompareOp::Eq { "==" } else { "!=" },
                self.show_operand(*b)
            ),
            PNode::And { a, b } => {
                let side = |n: NodeId| match self.node(n) {
                    PNode::Or { .. } => format!("({})", self.show(n)),
                    _ => self.show(n),
                };
                write!(out, "{} and {}", side(*a), side(*b))
            }
            PNode::Or { a, b } => write!(out, "{} or {}", self.show(*a), self.show(*b)),
            PNode::Exists { a } => write!(out, "exists({})", self.show(*a)),
            PNode::Widen { a, .. } => {
                self.show_into(*a, out);
                Ok(())
            }
        };
    }
}

fn udf_key_problem(p: &UdfKeyProblem) -> String {
    match p {
        UdfKeyProblem::NoMatch(k) => format!("dynamic UDF key {} matches no UDF", show_text(k)),
        UdfKeyProblem::Ambiguous(k, n) => format!(
            "dynamic UDF key {} matches {n} UDFs by name (use a code)",
            show_text(k)
        ),
    }
}

/// `.name`, or `["odd-name"]` for a name that is not an identifier.
fn name_text(name: &str) -> String {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        format!(".{name}")
    } else {
        format!("[{}]", quoted(name))
    }
}

fn escape_literal(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_literal(s, &mut out);
    out.push('"');
    out
}

fn write_lit(l: &Lit, out: &mut String) -> fmt::Result {
    match l {
        Lit::Text(s) => {
            out.push_str(&quoted(s));
            Ok(())
        }
        Lit::Number(s) => out.write_str(s),
        Lit::Integer(i) => write!(out, "{i}"),
        Lit::Bool(b) => write!(out, "{b}"),
        Lit::Date(d) => write!(out, "\"{d}\""),
        Lit::Datetime(t) => write!(out, "\"{t}\""),
    }
}

/// A value in a message: text in quotes, everything else as written.
pub fn show_scalar(v: &Scalar<'_>) -> String {
    match v {
        Scalar::Text(s) => show_text(s),
        Scalar::Date(_) | Scalar::Datetime(_) => format!("\"{v}\""),
        other => other.to_string(),
    }
}
