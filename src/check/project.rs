//! The project-wide rules: duplicate template names (E0109), incoming templates of one
//! reference writing the same target (W0401), two creates on one reference (W0402), and
//! unused tables (W0403).

use super::items::Items;
use super::template::TemplateOutput;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::syntax::ast::TemplateKind;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Runs the cross-template rules over the per-template results, in project order.
pub fn project_rules(outputs: &[&TemplateOutput], items: &Items) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut names: HashMap<&str, (FileId, Span)> = HashMap::default();
    let mut creates: HashMap<&str, (FileId, Span, &str)> = HashMap::default();
    let mut incoming_targets: HashMap<(&str, &str), (FileId, Span, &str)> = HashMap::default();
    let mut used: BTreeSet<&str> = BTreeSet::new();

    for out in outputs {
        let t = &out.template;
        used.extend(out.used_tables.iter().map(|s| s.as_str()));
        if let Some((file, span)) = names.get(t.name.as_str()) {
            diags.push(
                Diagnostic::new(Code::E0109, t.file, out.name_span, format!("the template name \"{}\" is used twice", t.name))
                    .with_primary_label("used again here")
                    .with_label(*file, *span, "first used here")
                    .with_help("template names are unique across the project (creates and incomings alike); rename one"),
            );
        } else {
            names.insert(&t.name, (t.file, out.name_span));
        }
        match t.kind {
            TemplateKind::Create => {
                if let Some((file, span, other)) = creates.get(t.reference.as_str()) {
                    diags.push(
                        Diagnostic::new(
                            Code::W0402,
                            t.file,
                            t.header,
                            format!(
                                "\"{}\" and \"{other}\" both store their Aurora case number in `ref.{}`",
                                t.name, t.reference
                            ),
                        )
                        .with_primary_label("second create on this reference")
                        .with_label(*file, *span, "first create on it")
                        .with_help("a case applying both would overwrite the first case number; give each its own reference"),
                    );
                } else {
                    creates.insert(&t.reference, (t.file, t.header, &t.name));
                }
            }
            TemplateKind::Incoming => {
                for (target, span) in &out.targets {
                    let key = (t.reference.as_str(), target.as_str());
                    if let Some((file, first, other)) = incoming_targets.get(&key) {
                        diags.push(
                            Diagnostic::new(
                                Code::W0401,
                                t.file,
                                *span,
                                format!(
                                    "`{target}` is also written by \"{other}\" for `ref.{}`; this later one wins",
                                    t.reference
                                ),
                            )
                            .with_primary_label("written again here")
                            .with_label(*file, *first, "first written here")
                            .with_help("keep one mapping per target for a reference, or use different targets"),
                        );
                    } else {
                        incoming_targets.insert(key, (t.file, *span, &t.name));
                    }
                }
            }
        }
    }

    for (table, _) in &items.ordered {
        if !used.contains(table.name.as_str()) {
            diags.push(
                Diagnostic::new(
                    Code::W0403,
                    table.file,
                    table.name_span,
                    format!("the table `{}` is never used", table.name),
                )
                .with_primary_label("never looked up")
                .with_help("remove it, or use it with `lookup(KEY, …)`"),
            );
        }
    }
    diags
}
