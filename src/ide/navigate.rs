//! Go to definition (a table's declaration, a name's entry in a schema file) and the outline of
//! a file (its templates, their mappings, its tables).

use super::cursor::{self, At};
use super::db::{self, Database, Source};
use crate::diagnostics::{Location, Span};
use crate::syntax::ast::{self, Root, TemplateKind};

/// Where the name at `offset` is declared: a table in a template file, or an entry of a schema.
pub fn definition(db: &Database, file: Source, offset: u32) -> Option<Location> {
    let tree = &db::parse(db, file).tree;
    let at = cursor::at(tree, offset)?;
    let (aurora, connect) = db::schemas(db);
    let decl = match at {
        At::TableRef(name) => {
            let index = &db::table_index(db).items;
            let t = index.table(&name.value)?;
            return Some(Location {
                file: t.file,
                span: t.name_span,
            });
        }
        At::Table(t) => {
            return Some(Location {
                file: file.id(db),
                span: t.name.span,
            });
        }
        At::Reference(t) => connect.reference(&t.reference.value)?.decl,
        At::Udf { key, .. } => match &key.kind {
            ast::UdfKeyKind::Static(name) => aurora.resolve_udf(&name.value).ok()?.decl,
            ast::UdfKeyKind::Dynamic(_) => return None,
        },
        At::Path {
            path,
            template,
            target,
        } => {
            let name = path.dotted();
            match path.root {
                Root::Field => connect.field(&name)?.decl,
                Root::Date => connect.date(&name)?.decl,
                Root::Ref => connect.reference(&name)?.decl,
                Root::Contact => aurora.contact_field(&name)?.decl,
                Root::Aurora => {
                    let create = aurora.create_field(&name).map(|f| f.decl);
                    let snapshot = aurora.snapshot_field(&name).map(|f| f.decl);
                    if template.kind == TemplateKind::Create || target {
                        create.or(snapshot)?
                    } else {
                        snapshot.or(create)?
                    }
                }
                Root::Case | Root::Person | Root::Address => return None,
            }
        }
        At::Function(_) | At::Template(_) => return None,
    };
    Some(Location {
        file: decl.file,
        span: decl.span,
    })
}

/// What an outline entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Template,
    Table,
    Mapping,
}

/// An entry of a file's outline.
#[derive(Clone, Debug, PartialEq)]
pub struct Symbol {
    pub name: String,
    /// `create`, `incoming`, `text -> text`, or the mapping's value as written.
    pub detail: String,
    pub kind: SymbolKind,
    /// The whole item.
    pub span: Span,
    /// Its name.
    pub selection: Span,
    pub children: Vec<Symbol>,
}

/// The outline of one file: templates with their mappings, and tables.
pub fn symbols(db: &Database, file: Source) -> Vec<Symbol> {
    let tree = &db::parse(db, file).tree;
    let text = file.text(db);
    tree.items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Template(t) => Some(Symbol {
                name: t.name.value.clone(),
                detail: format!("{} for ref.{}", t.kind.keyword(), t.reference.value),
                kind: SymbolKind::Template,
                span: t.span,
                selection: t.name.span,
                children: t
                    .mappings
                    .iter()
                    .map(|m| Symbol {
                        name: target_text(text, &m.target),
                        detail: one_line(text, m.value.span),
                        kind: SymbolKind::Mapping,
                        span: m.span,
                        selection: m.target.span(),
                        children: Vec::new(),
                    })
                    .collect(),
            }),
            ast::Item::Table(t) => Some(Symbol {
                name: t.name.value.clone(),
                detail: format!("{} -> {}", t.key_type.name, t.value_type.name),
                kind: SymbolKind::Table,
                span: t.span,
                selection: t.name.span,
                children: Vec::new(),
            }),
            ast::Item::Error(_) => None,
        })
        .collect()
}

fn target_text(text: &str, target: &ast::Target) -> String {
    match target {
        ast::Target::Path(p) => p.display(),
        ast::Target::Udf(_) => one_line(text, target.span()),
    }
}

fn one_line(text: &str, span: Span) -> String {
    let raw = text.get(span.range()).unwrap_or_default();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}
