//! The checker: names resolved against the schemas, types and optionality, tables, UDFs,
//! required fields and the project-wide rules. It works on syntax trees and schemas in
//! memory and knows nothing of files, salsa or editors; its result is diagnostics plus the
//! checked, flat form of each template ([`hir`]).

mod expr;
pub mod functions;
pub mod hir;
pub mod items;
pub mod literal;
mod project;
mod suggest;
mod template;
pub mod ty;

pub use items::{Items, index_tables};
pub use project::project_rules;
pub use suggest::closest;
pub use template::{TemplateOutput, check_template};

use crate::diagnostics::FileId;
use crate::schema::{AuroraSchema, ConnectSchema};
use crate::syntax::ast;
use rayon::prelude::*;

/// The schemas a project is checked against.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub aurora: &'a AuroraSchema,
    pub connect: &'a ConnectSchema,
}

/// One parsed file of the project.
#[derive(Clone, Copy)]
pub struct ProjectFile<'a> {
    pub file: FileId,
    pub ast: &'a ast::File,
}

/// A checked template, ready to be packed into a plan when it has no errors.
#[derive(Clone, Debug)]
pub struct CheckedTemplate {
    pub file: FileId,
    pub kind: ast::TemplateKind,
    pub name: String,
    pub reference: String,
    pub doc: Option<String>,
    /// The template's header span (keyword to reference).
    pub header: crate::diagnostics::Span,
    pub body: hir::Body,
    /// Whether any error was reported inside this template.
    pub has_errors: bool,
}

/// A checked table with its entries as values.
#[derive(Clone, Debug)]
pub struct CheckedTable {
    pub file: FileId,
    pub name: String,
    pub key_type: crate::schema::ScalarType,
    pub value_type: crate::schema::ScalarType,
    pub entries: Vec<(hir::Value, hir::Value)>,
}

/// The result of checking a project.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Sorted by file, then position.
    pub diagnostics: Vec<crate::diagnostics::Diagnostic>,
    /// In file order, then source order.
    pub templates: Vec<CheckedTemplate>,
    pub tables: Vec<CheckedTable>,
}

impl Checked {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// Checks every file of a project against the schemas: tables first (they are global),
/// then each template, then the project-wide rules.
pub fn check_project(files: &[ProjectFile<'_>], env: &Env<'_>) -> Checked {
    let pairs: Vec<(FileId, &ast::File)> = files.iter().map(|f| (f.file, f.ast)).collect();
    let (items, mut diagnostics) = index_tables(&pairs);
    // Templates are checked independently of each other, several at a time.
    let templates: Vec<(&ast::Template, FileId)> = files
        .iter()
        .flat_map(|f| {
            f.ast.items.iter().filter_map(move |item| match item {
                ast::Item::Template(t) => Some((t, f.file)),
                _ => None,
            })
        })
        .collect();
    let outputs: Vec<TemplateOutput> = templates
        .par_iter()
        .map(|(t, file)| check_template(t, *file, env, &items))
        .collect();
    let refs: Vec<&TemplateOutput> = outputs.iter().collect();
    diagnostics.extend(project_rules(&refs, &items));
    let mut templates = Vec::with_capacity(outputs.len());
    for out in outputs {
        diagnostics.extend(out.diagnostics);
        templates.push(out.template);
    }
    crate::diagnostics::sort(&mut diagnostics);
    Checked {
        diagnostics,
        templates,
        tables: tables_of(&items),
    }
}

/// The checked tables, in project order.
pub fn tables_of(items: &Items) -> Vec<CheckedTable> {
    items
        .ordered
        .iter()
        .map(|(info, entries)| CheckedTable {
            file: info.file,
            name: info.name.clone(),
            key_type: info.key,
            value_type: info.value,
            entries: entries.clone(),
        })
        .collect()
}
