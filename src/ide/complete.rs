//! Completion. While a line is being typed the file rarely parses, so the context is read from
//! the text before the cursor: `field.`, `aurora.Message.`, `udf "…`, or a bare word; which
//! kind of template the cursor is in decides between Aurora targets and snapshot paths.

use super::db::{self, Database};
use super::hover::{aurora_field_detail, describe_udf, function_markdown, type_text};
use crate::check::functions::FUNCTIONS;
use crate::diagnostics::Span;
use crate::schema::{ADDRESS_ATTRS, CASE_ATTRS, PERSON_ATTRS, address_attr_type};
use crate::syntax::ast::{Root, TemplateKind, is_identifier};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Field,
    Function,
    Table,
    Keyword,
    Udf,
    Reference,
}

/// One proposal: `insert` replaces the text of `replace`.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    pub documentation: Option<String>,
    pub insert: String,
    pub replace: Span,
}

/// Which template kind the cursor is in, from the text: the last `create`/`incoming` header
/// before it, unless a closing brace at the start of a line came after it.
pub fn template_kind_at(text: &str, offset: usize) -> Option<TemplateKind> {
    let before = text.get(..offset).unwrap_or(text);
    for line in before.lines().rev() {
        let trimmed = line.trim_start();
        if line.starts_with('}') {
            return None;
        }
        for (word, kind) in [
            ("create", TemplateKind::Create),
            ("incoming", TemplateKind::Incoming),
        ] {
            if let Some(rest) = trimmed.strip_prefix(word)
                && rest.starts_with(char::is_whitespace)
            {
                return Some(kind);
            }
        }
        if trimmed.starts_with("table") {
            return None;
        }
    }
    None
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "not", "exists", "and", "or", "true", "false",
];
const ITEM_KEYWORDS: &[&str] = &["create", "incoming", "table"];

/// The completions at a byte offset of a file's text (which may not parse).
pub fn complete(db: &Database, text: &str, offset: u32) -> Vec<Completion> {
    let offset = (offset as usize).min(text.len());
    if !text.is_char_boundary(offset) {
        return Vec::new();
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];
    let kind = template_kind_at(text, line_start);

    // Inside `udf "…`: codes and names.
    if let Some(partial_at) = udf_string_start(line) {
        let replace = Span::new((line_start + partial_at) as u32, offset as u32);
        return udf_items(db, replace);
    }

    // A dotted path being typed: `root.seg.partial`.
    let word_start = line
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(line.len(), |(i, _)| i);
    let word = &line[word_start..];
    if let Some((head, partial)) = word.rsplit_once('.') {
        let replace = Span::new((offset - partial.len()) as u32, offset as u32);
        let (root, prefix) = head.split_once('.').unwrap_or((head, ""));
        let Some(root) = Root::from_keyword(root) else {
            return Vec::new();
        };
        // A name is only a target at the start of a line (before `=`).
        let target = line[..word_start].trim().is_empty() || line[..word_start].trim() == "udf";
        return path_items(db, root, prefix, kind, target, replace);
    }

    let replace = Span::new((line_start + word_start) as u32, offset as u32);
    if kind.is_none() {
        return ITEM_KEYWORDS
            .iter()
            .map(|k| keyword(k, "an item", replace))
            .collect();
    }
    let mut out = Vec::new();
    for root in Root::ALL {
        out.push(Completion {
            label: root.keyword().to_string(),
            kind: CompletionKind::Keyword,
            detail: Some(format!("{}.…", root.keyword())),
            documentation: None,
            insert: root.keyword().to_string(),
            replace,
        });
    }
    out.push(keyword(
        "udf",
        "a user-defined field: udf \"CODE\"",
        replace,
    ));
    for k in KEYWORDS {
        out.push(keyword(k, "keyword", replace));
    }
    for f in FUNCTIONS {
        out.push(Completion {
            label: f.name.to_string(),
            kind: CompletionKind::Function,
            detail: Some(f.signature.to_string()),
            documentation: Some(function_markdown(f)),
            insert: f.name.to_string(),
            replace,
        });
    }
    for t in db::tables(db) {
        out.push(Completion {
            label: t.name.clone(),
            kind: CompletionKind::Table,
            detail: Some(format!(
                "table {} -> {}",
                t.key_type.name(),
                t.value_type.name()
            )),
            documentation: None,
            insert: t.name.clone(),
            replace,
        });
    }
    out
}

fn keyword(k: &str, detail: &str, replace: Span) -> Completion {
    Completion {
        label: k.to_string(),
        kind: CompletionKind::Keyword,
        detail: Some(detail.to_string()),
        documentation: None,
        insert: k.to_string(),
        replace,
    }
}

/// If the line ends inside `udf "…` (an unclosed string after `udf`), where the string's
/// contents start.
fn udf_string_start(line: &str) -> Option<usize> {
    let quote = line.rfind('"')?;
    // The quote must open a string: an even number of unescaped quotes before it.
    let before = &line[..quote];
    let quotes = before.matches('"').count() - before.matches("\\\"").count();
    if !quotes.is_multiple_of(2) {
        return None;
    }
    before.trim_end().ends_with("udf").then_some(quote + 1)
}

fn udf_items(db: &Database, replace: Span) -> Vec<Completion> {
    let (aurora, _) = db::schemas(db);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for u in &aurora.udfs {
        for (label, what) in [(&u.code, "code"), (&u.name, "name")] {
            if !seen.insert(label.clone()) {
                continue;
            }
            out.push(Completion {
                label: label.clone(),
                kind: CompletionKind::Udf,
                detail: Some(format!(
                    "UDF {what}: {} \"{}\" ({})",
                    u.code,
                    u.name,
                    u.ty.name()
                )),
                documentation: Some(describe_udf(u)),
                insert: label.replace('\\', "\\\\").replace('"', "\\\""),
                replace,
            });
        }
    }
    out
}

fn name_item(
    name: &str,
    kind: CompletionKind,
    detail: String,
    doc: Option<String>,
    replace: Span,
) -> Completion {
    Completion {
        label: name.to_string(),
        kind,
        detail: Some(detail),
        documentation: doc,
        insert: if is_identifier(name) {
            name.to_string()
        } else {
            format!("[\"{}\"]", name.replace('\\', "\\\\").replace('"', "\\\""))
        },
        replace: if is_identifier(name) {
            replace
        } else {
            // Replace the dot too: `field.` becomes `field["odd name"]`.
            Span::new(replace.start.saturating_sub(1), replace.end)
        },
    }
}

fn path_items(
    db: &Database,
    root: Root,
    prefix: &str,
    kind: Option<TemplateKind>,
    target: bool,
    replace: Span,
) -> Vec<Completion> {
    let (aurora, connect) = db::schemas(db);
    let mut out = Vec::new();
    if !prefix.is_empty() && root != Root::Aurora {
        return out;
    }
    match root {
        Root::Field => {
            for f in &connect.fields {
                let detail = format!(
                    "{}{}",
                    type_text(f.ty, !f.required),
                    f.max_length
                        .map(|n| format!(", at most {n}"))
                        .unwrap_or_default()
                );
                out.push(name_item(
                    &f.name,
                    CompletionKind::Field,
                    detail,
                    f.description.clone(),
                    replace,
                ));
            }
        }
        Root::Date => {
            for d in &connect.dates {
                out.push(name_item(
                    &d.name,
                    CompletionKind::Field,
                    type_text(d.ty, !d.required),
                    d.description.clone(),
                    replace,
                ));
            }
        }
        Root::Ref => {
            for r in &connect.references {
                let detail = r.label.clone().unwrap_or_else(|| "reference".to_string());
                out.push(name_item(
                    &r.name,
                    CompletionKind::Reference,
                    detail,
                    r.description.clone(),
                    replace,
                ));
            }
        }
        Root::Person => {
            for a in PERSON_ATTRS {
                out.push(name_item(
                    a,
                    CompletionKind::Field,
                    "text?".to_string(),
                    None,
                    replace,
                ));
            }
        }
        Root::Address => {
            for a in ADDRESS_ATTRS {
                out.push(name_item(
                    a,
                    CompletionKind::Field,
                    type_text(address_attr_type(a), true),
                    None,
                    replace,
                ));
            }
        }
        Root::Case => {
            for (a, ty, _) in CASE_ATTRS {
                out.push(name_item(
                    a,
                    CompletionKind::Field,
                    ty.name().to_string(),
                    None,
                    replace,
                ));
            }
        }
        Root::Contact => {
            for f in &aurora.contact {
                out.push(name_item(
                    &f.name,
                    CompletionKind::Field,
                    aurora_field_detail(f),
                    f.description.clone(),
                    replace,
                ));
            }
        }
        Root::Aurora => {
            let create_side = match kind {
                Some(TemplateKind::Create) => true,
                Some(TemplateKind::Incoming) => false,
                None => target,
            };
            if create_side && prefix.is_empty() {
                for f in &aurora.create {
                    out.push(name_item(
                        &f.name,
                        CompletionKind::Field,
                        aurora_field_detail(f),
                        f.description.clone(),
                        replace,
                    ));
                }
            }
            if !create_side || kind.is_none() {
                // The next segment of every snapshot path under the prefix.
                let mut seen = BTreeSet::new();
                for f in &aurora.snapshot {
                    let rest = if prefix.is_empty() {
                        Some(f.path.as_str())
                    } else {
                        f.path
                            .strip_prefix(prefix)
                            .and_then(|r| r.strip_prefix('.'))
                    };
                    let Some(rest) = rest else { continue };
                    let (next, leaf) = match rest.split_once('.') {
                        Some((n, _)) => (n, false),
                        None => (rest, true),
                    };
                    if !seen.insert(next.to_string()) {
                        continue;
                    }
                    let detail = if leaf {
                        format!("{} (snapshot)", type_text(f.ty, true))
                    } else {
                        "snapshot object".to_string()
                    };
                    out.push(name_item(
                        next,
                        CompletionKind::Field,
                        detail,
                        f.description.clone(),
                        replace,
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_template_kind_from_the_text() {
        let text =
            "create \"a\" for ref.x {\n    aurora.\n}\n\nincoming \"b\" for ref.x {\n    field.\n";
        let a = text.find("aurora.").expect("aurora");
        let f = text.find("field.").expect("field");
        assert_eq!(template_kind_at(text, a), Some(TemplateKind::Create));
        assert_eq!(template_kind_at(text, f), Some(TemplateKind::Incoming));
        assert_eq!(
            template_kind_at(text, text.find("\n\nincoming").expect("gap") + 1),
            None
        );
    }

    #[test]
    fn recognises_an_open_udf_string() {
        assert_eq!(udf_string_start("    udf \"HA"), Some(9));
        assert_eq!(udf_string_start("    udf \"HAZARD\" = \"x"), None);
        assert_eq!(udf_string_start("    aurora.x = \"a"), None);
    }
}
