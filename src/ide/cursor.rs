//! What is under the cursor: the innermost named thing of a syntax tree at a byte offset.

use crate::diagnostics::Span;
use crate::syntax::ast::{self, Cond, CondKind, Expr, ExprKind, Item, Path, StrPart, UdfKey};

/// A named thing at an offset, with the template or table around it.
#[derive(Clone, Copy, Debug)]
pub enum At<'a> {
    /// A path; `target` when it is the left-hand side of a mapping.
    Path {
        path: &'a Path,
        template: &'a ast::Template,
        target: bool,
    },
    /// A UDF key (static, or the `udf` keyword of a dynamic one).
    Udf {
        key: &'a UdfKey,
        template: &'a ast::Template,
        target: bool,
    },
    /// The name of a called function.
    Function(&'a ast::Name),
    /// A bare name in an expression: a table.
    TableRef(&'a ast::Name),
    /// A table's declaration (its name or header).
    Table(&'a ast::Table),
    /// A template's header (keyword or name).
    Template(&'a ast::Template),
    /// The `ref.NAME` of a template header.
    Reference(&'a ast::Template),
}

impl At<'_> {
    /// The span the thing covers (what a hover highlights).
    pub fn span(&self) -> Span {
        match self {
            At::Path { path, .. } => path.span,
            At::Udf { key, .. } => key.span,
            At::Function(n) | At::TableRef(n) => n.span,
            At::Table(t) => t.name.span,
            At::Template(t) => t.name.span,
            At::Reference(t) => t.reference_span,
        }
    }
}

fn contains(span: Span, offset: u32) -> bool {
    span.start <= offset && offset <= span.end
}

/// The thing at `offset` (an offset just after a name still counts as on it).
pub fn at(file: &ast::File, offset: u32) -> Option<At<'_>> {
    for item in &file.items {
        match item {
            Item::Template(t) if contains(t.span, offset) => return in_template(t, offset),
            Item::Table(t) if contains(t.span, offset) => {
                return (offset <= t.value_type.span.end).then_some(At::Table(t));
            }
            _ => {}
        }
    }
    None
}

fn in_template(t: &ast::Template, offset: u32) -> Option<At<'_>> {
    if contains(t.reference_span, offset) {
        return Some(At::Reference(t));
    }
    if contains(t.kind_span, offset) || contains(t.name.span, offset) {
        return Some(At::Template(t));
    }
    for m in &t.mappings {
        if !contains(m.span, offset) {
            continue;
        }
        if contains(m.target.span(), offset) {
            return Some(match &m.target {
                ast::Target::Path(path) => At::Path {
                    path,
                    template: t,
                    target: true,
                },
                ast::Target::Udf(key) => udf_at(key, t, offset, true),
            });
        }
        return expr_at(&m.value, t, offset);
    }
    None
}

fn udf_at<'a>(key: &'a UdfKey, t: &'a ast::Template, offset: u32, target: bool) -> At<'a> {
    match &key.kind {
        ast::UdfKeyKind::Dynamic(path) if contains(path.span, offset) => At::Path {
            path,
            template: t,
            target: false,
        },
        _ => At::Udf {
            key,
            template: t,
            target,
        },
    }
}

fn expr_at<'a>(e: &'a Expr, t: &'a ast::Template, offset: u32) -> Option<At<'a>> {
    if !contains(e.span, offset) {
        return None;
    }
    match &e.kind {
        ExprKind::Str(s) => s.parts.iter().find_map(|p| match p {
            StrPart::Interp(path) if contains(path.span, offset) => Some(At::Path {
                path,
                template: t,
                target: false,
            }),
            _ => None,
        }),
        ExprKind::Number(_) | ExprKind::Bool(_) => None,
        ExprKind::Path(path) => Some(At::Path {
            path,
            template: t,
            target: false,
        }),
        ExprKind::Name(n) => Some(At::TableRef(n)),
        ExprKind::Udf(key) => Some(udf_at(key, t, offset, false)),
        ExprKind::Call { name, args } => {
            if contains(name.span, offset) {
                return Some(At::Function(name));
            }
            args.iter().find_map(|a| expr_at(a, t, offset))
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => cond_at(cond, t, offset)
            .or_else(|| expr_at(then, t, offset))
            .or_else(|| expr_at(otherwise, t, offset)),
        ExprKind::Coalesce(a, b) => expr_at(a, t, offset).or_else(|| expr_at(b, t, offset)),
        ExprKind::Require(a) | ExprKind::Not(a) | ExprKind::Paren(a) => expr_at(a, t, offset),
    }
}

fn cond_at<'a>(c: &'a Cond, t: &'a ast::Template, offset: u32) -> Option<At<'a>> {
    if !contains(c.span, offset) {
        return None;
    }
    match &c.kind {
        CondKind::Expr(e) => expr_at(e, t, offset),
        CondKind::Compare { lhs, rhs, .. } => {
            expr_at(lhs, t, offset).or_else(|| expr_at(rhs, t, offset))
        }
        CondKind::Exists(path) => contains(path.span, offset).then_some(At::Path {
            path,
            template: t,
            target: false,
        }),
        CondKind::And(a, b) | CondKind::Or(a, b) => {
            cond_at(a, t, offset).or_else(|| cond_at(b, t, offset))
        }
    }
}
