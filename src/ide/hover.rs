//! Hover: what a name means, in Markdown — its type, whether it is required, its maximum length
//! and allowed values, the schema's description, and the doc comments of templates and tables.

use super::cursor::{self, At};
use super::db::{self, Database, Source};
use crate::check::functions::FUNCTIONS;
use crate::diagnostics::Span;
use crate::schema::{
    ADDRESS_ATTRS, AuroraField, AuroraSchema, CASE_ATTRS, ConnectSchema, PERSON_ATTRS, ScalarType,
    Udf, address_attr_type,
};
use crate::syntax::ast::{self, Root, TemplateKind};

/// A hover: the span it is about and its Markdown text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    pub span: Span,
    pub markdown: String,
}

/// The hover at a byte offset of a project file.
pub fn hover(db: &Database, file: Source, offset: u32) -> Option<Hover> {
    let tree = &db::parse(db, file).tree;
    let at = cursor::at(tree, offset)?;
    let (aurora, connect) = db::schemas(db);
    let markdown = match at {
        At::Path {
            path,
            template,
            target,
        } => describe_path(aurora, connect, path, template.kind, target)?,
        At::Udf { key, .. } => match &key.kind {
            ast::UdfKeyKind::Static(name) => match aurora.resolve_udf(&name.value) {
                Ok(u) => describe_udf(u),
                Err(0) => format!("`udf \"{}\"`: no UDF has this code or name", name.value),
                Err(n) => format!(
                    "`udf \"{}\"`: {n} UDFs have this name; use a code",
                    name.value
                ),
            },
            ast::UdfKeyKind::Dynamic(p) => format!(
                "`udf {}`: a UDF named at run time by the value of `{}` (its code or name)",
                p.display(),
                p.display()
            ),
        },
        At::Function(name) => {
            let f = FUNCTIONS.iter().find(|f| f.name == name.value)?;
            function_markdown(f)
        }
        At::TableRef(name) => describe_table(db, &name.value)?,
        At::Table(t) => describe_table(db, &t.name.value)?,
        At::Template(t) => {
            let mut s = format!(
                "```amap\n{} \"{}\" for ref.{}\n```",
                t.kind.keyword(),
                t.name.value,
                t.reference.value
            );
            s.push_str(match t.kind {
                TemplateKind::Create => {
                    "\n\nA create template: builds an Aurora case from a Connect case."
                }
                TemplateKind::Incoming => {
                    "\n\nAn incoming template: fills Connect fields from an Aurora case."
                }
            });
            if let Some(doc) = &t.doc {
                s.push_str("\n\n");
                s.push_str(doc);
            }
            s
        }
        At::Reference(t) => match connect.reference(&t.reference.value) {
            Some(r) => {
                let mut s = format!("`ref.{}`: a Connect reference", r.name);
                if let Some(l) = &r.label {
                    s.push_str(&format!(" (\"{l}\")"));
                }
                push_description(&mut s, &r.description);
                s
            }
            None => format!(
                "`ref.{}`: not a reference of the Connect schema",
                t.reference.value
            ),
        },
    };
    Some(Hover {
        span: at.span(),
        markdown,
    })
}

/// `text`, `text?`.
pub fn type_text(ty: ScalarType, optional: bool) -> String {
    if optional {
        format!("{}?", ty.name())
    } else {
        ty.name().to_string()
    }
}

fn push_description(s: &mut String, d: &Option<String>) {
    if let Some(d) = d {
        s.push_str("\n\n");
        s.push_str(d);
    }
}

fn push_values(s: &mut String, label: &str, values: &[String]) {
    if !values.is_empty() {
        let list: Vec<String> = values.iter().map(|v| format!("`\"{v}\"`")).collect();
        s.push_str(&format!("\n\n{label}: {}", list.join(", ")));
    }
}

/// One line about an Aurora field: type, required, length, wire.
pub fn aurora_field_detail(f: &AuroraField) -> String {
    let mut s = format!(
        "{}, {}",
        f.ty.name(),
        if f.required { "required" } else { "optional" }
    );
    if let Some(n) = f.max_length {
        s.push_str(&format!(", at most {n} characters"));
    }
    if f.wire == crate::schema::Wire::String {
        s.push_str(", sent as a string");
    }
    s
}

fn describe_aurora_field(prefix: &str, f: &AuroraField) -> String {
    let mut s = format!("`{prefix}.{}`: {}", f.name, aurora_field_detail(f));
    push_values(&mut s, "Allowed values", &f.values);
    push_description(&mut s, &f.description);
    s
}

pub fn describe_udf(u: &Udf) -> String {
    let mut s = format!(
        "UDF `{}` (\"{}\"): {}, optional",
        u.code,
        u.name,
        u.ty.name()
    );
    if let Some(n) = u.max_length {
        s.push_str(&format!(", at most {n} characters"));
    }
    push_values(&mut s, "Allowed values", &u.values);
    push_description(&mut s, &u.description);
    s
}

pub fn function_markdown(f: &crate::check::functions::FunctionInfo) -> String {
    let mut s = format!("```amap\n{}\n```\n\n{}", f.signature, f.doc);
    if f.fallible {
        s.push_str("\n\nFallible: a failure is a validation error unless caught by `??`.");
    }
    s.push_str(&format!(
        "\n\nExample: `{}` → `{}`",
        f.example.0, f.example.1
    ));
    s
}

fn describe_path(
    aurora: &AuroraSchema,
    connect: &ConnectSchema,
    path: &ast::Path,
    kind: TemplateKind,
    target: bool,
) -> Option<String> {
    let name = path.dotted();
    let shown = path.display();
    let first = path
        .segments
        .first()
        .map(|s| s.value.as_str())
        .unwrap_or("");
    Some(match path.root {
        Root::Field => {
            let f = connect.field(&name)?;
            let mut s = format!(
                "`{shown}`: {}, {}",
                type_text(f.ty, !f.required),
                if f.required { "required" } else { "optional" }
            );
            if let Some(n) = f.max_length {
                s.push_str(&format!(", at most {n} characters"));
            }
            push_values(&mut s, "Options", &f.options);
            push_description(&mut s, &f.description);
            s
        }
        Root::Date => {
            let d = connect.date(&name)?;
            let mut s = format!(
                "`{shown}`: {}, {}",
                type_text(d.ty, !d.required),
                if d.required { "required" } else { "optional" }
            );
            push_description(&mut s, &d.description);
            s
        }
        Root::Person => {
            PERSON_ATTRS.iter().find(|a| **a == first)?;
            format!("`{shown}`: text?, an attribute of the case's linked person")
        }
        Root::Address => {
            ADDRESS_ATTRS.iter().find(|a| **a == first)?;
            format!(
                "`{shown}`: {}, an attribute of the case's linked address",
                type_text(address_attr_type(first), true)
            )
        }
        Root::Case => {
            let (_, ty, _) = CASE_ATTRS.iter().find(|(a, _, _)| *a == first)?;
            format!("`{shown}`: {}, always present", ty.name())
        }
        Root::Ref => {
            let r = connect.reference(&name)?;
            let mut s = format!("`{shown}`: text?, the value held in a Connect reference");
            if let Some(l) = &r.label {
                s.push_str(&format!(" (\"{l}\")"));
            }
            push_description(&mut s, &r.description);
            s
        }
        Root::Contact => describe_aurora_field("contact", aurora.contact_field(&name)?),
        Root::Aurora => {
            let create = aurora.create_field(&name);
            let snapshot = aurora.snapshot_field(&name);
            match (kind, target, create, snapshot) {
                (TemplateKind::Create, _, Some(f), _) | (_, true, Some(f), _) => {
                    describe_aurora_field("aurora", f)
                }
                (_, _, _, Some(f)) => {
                    let mut s = format!(
                        "`{shown}`: {}, a field of the Aurora case snapshot",
                        type_text(f.ty, true)
                    );
                    if f.required {
                        s.push_str(" (every incoming template must read it)");
                    }
                    push_values(&mut s, "Values", &f.values);
                    push_description(&mut s, &f.description);
                    s
                }
                (_, _, Some(f), None) => describe_aurora_field("aurora", f),
                (_, _, None, None) => return None,
            }
        }
    })
}

fn describe_table(db: &Database, name: &str) -> Option<String> {
    let tables = db::tables(db);
    let t = tables.iter().find(|t| t.name == name)?;
    let mut s = format!(
        "```amap\ntable {}: {} -> {}\n```\n\n{} entr{}",
        t.name,
        t.key_type.name(),
        t.value_type.name(),
        t.entries.len(),
        if t.entries.len() == 1 { "y" } else { "ies" }
    );
    let doc = db::Project::get(db).files(db).iter().find_map(|f| {
        db::parse(db, *f).tree.items.iter().find_map(|i| match i {
            ast::Item::Table(tb) if tb.name.value == name => tb.doc.clone(),
            _ => None,
        })
    });
    if let Some(doc) = doc {
        s.push_str("\n\n");
        s.push_str(&doc);
    }
    Some(s)
}
