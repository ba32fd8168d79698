//! Quick fixes as edits. A checker's fix is one edit of the source; one that appends an
//! operator to an expression (`!`, `?? DEFAULT`, as E0202 offers) first needs parentheses around
//! an expression that binds more loosely — `if … then … else …`, `a ?? b`, `not a` — or the
//! operator would apply to its last part only (`… else "x"!`).

use crate::diagnostics::{Fix, Location, Span};
use crate::syntax::ast::{self, CondKind, Expr, ExprKind, Item};

/// One edit of a fix: replace `location` with `replacement`.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub location: Location,
    pub replacement: String,
}

/// The edits of `fix`; `tree` is the parsed file the fix edits, when it is a template file.
pub fn edits(fix: &Fix, tree: Option<&ast::File>) -> Vec<Edit> {
    let single = vec![Edit {
        location: fix.location,
        replacement: fix.replacement.clone(),
    }];
    let at = fix.location.span;
    let op = fix.replacement.trim_start();
    let appends = at.start == at.end && (op.starts_with('!') || op.starts_with("??"));
    let Some(tree) = tree.filter(|_| appends) else {
        return single;
    };
    let Some(expr) = ending_at(tree, at.end) else {
        return single;
    };
    let looser = match &expr.kind {
        ExprKind::If { .. } => true,
        ExprKind::Coalesce(..) | ExprKind::Not(_) => op.starts_with('!'),
        _ => false,
    };
    if !looser {
        return single;
    }
    let file = fix.location.file;
    vec![
        Edit {
            location: Location {
                file,
                span: Span::new(expr.span.start, expr.span.start),
            },
            replacement: "(".to_string(),
        },
        Edit {
            location: fix.location,
            replacement: format!("){}", fix.replacement),
        },
    ]
}

/// The outermost expression that ends at `offset`.
fn ending_at(tree: &ast::File, offset: u32) -> Option<&Expr> {
    tree.items.iter().find_map(|item| match item {
        Item::Template(t) => t.mappings.iter().find_map(|m| outermost(&m.value, offset)),
        _ => None,
    })
}

fn outermost(e: &Expr, end: u32) -> Option<&Expr> {
    if e.span.end == end {
        return Some(e);
    }
    if e.span.end < end || e.span.start > end {
        return None;
    }
    match &e.kind {
        ExprKind::Call { args, .. } => args.iter().find_map(|a| outermost(a, end)),
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => cond_outermost(cond, end)
            .or_else(|| outermost(then, end))
            .or_else(|| outermost(otherwise, end)),
        ExprKind::Coalesce(a, b) => outermost(a, end).or_else(|| outermost(b, end)),
        ExprKind::Require(a) | ExprKind::Not(a) | ExprKind::Paren(a) => outermost(a, end),
        _ => None,
    }
}

fn cond_outermost(c: &ast::Cond, end: u32) -> Option<&Expr> {
    match &c.kind {
        CondKind::Expr(e) => outermost(e, end),
        CondKind::Compare { lhs, rhs, .. } => outermost(lhs, end).or_else(|| outermost(rhs, end)),
        CondKind::Exists(_) => None,
        CondKind::And(a, b) | CondKind::Or(a, b) => {
            cond_outermost(a, end).or_else(|| cond_outermost(b, end))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::FileId;

    fn apply(text: &str, edits: &[Edit]) -> String {
        let mut out = text.to_string();
        let mut edits = edits.to_vec();
        edits.sort_by_key(|e| std::cmp::Reverse(e.location.span.start));
        for e in edits {
            out.replace_range(e.location.span.range(), &e.replacement);
        }
        out
    }

    fn fixed(value: &str, replacement: &str) -> String {
        let text = format!("create \"A\" for ref.r {{\n    aurora.a = {value}\n}}\n");
        let (tree, diags) = crate::syntax::parse(&text, FileId(0));
        assert!(diags.is_empty(), "{diags:?}");
        let end = text.find("\n}").expect("end") as u32;
        let fix = Fix {
            title: String::new(),
            location: Location {
                file: FileId(0),
                span: Span::new(end, end),
            },
            replacement: replacement.to_string(),
        };
        let out = apply(&text, &edits(&fix, Some(&tree)));
        let line = out.lines().nth(1).expect("the mapping");
        line.trim_start_matches("    aurora.a = ").to_string()
    }

    #[test]
    fn wraps_only_what_binds_more_loosely() {
        assert_eq!(fixed("field.x", "!"), "field.x!");
        assert_eq!(fixed("field.x", " ?? \"\""), "field.x ?? \"\"");
        assert_eq!(fixed("lower(field.x)", "!"), "lower(field.x)!");
        assert_eq!(
            fixed("if field.f then field.x else \"y\"", "!"),
            "(if field.f then field.x else \"y\")!"
        );
        assert_eq!(
            fixed("if field.f then field.x else \"y\"", " ?? \"\""),
            "(if field.f then field.x else \"y\") ?? \"\""
        );
        assert_eq!(fixed("field.x ?? field.y", "!"), "(field.x ?? field.y)!");
        assert_eq!(
            fixed("field.x ?? field.y", " ?? \"\""),
            "field.x ?? field.y ?? \"\""
        );
    }
}
