//! Checking one template: its reference, every mapping's target and value, and the
//! completeness rules (E0301, E0302). Produces the template's flat checked body.

use super::hir::{self, Node, NodeId, TargetRef};
use super::items::Items;
use super::suggest::closest;
use super::ty::{Origin, Ty, conversion_help, converts};
use super::{CheckedTemplate, Env};
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::schema::{AuroraField, ScalarType};
use crate::syntax::ast::{self, Root, TemplateKind};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// What checking one template yields.
#[derive(Clone, Debug)]
pub struct TemplateOutput {
    pub template: CheckedTemplate,
    pub diagnostics: Vec<Diagnostic>,
    /// Tables looked up by this template.
    pub used_tables: BTreeSet<String>,
    /// Each target written, as text (`field.status`), with the mapping's span.
    pub targets: Vec<(String, Span)>,
    /// The span of the template name (for duplicate-name diagnostics).
    pub name_span: Span,
}

/// A resolved target with what it accepts.
pub(super) struct TargetInfo {
    pub target: TargetRef,
    pub ty: ScalarType,
    pub required: bool,
    pub max_len: Option<u32>,
    pub values: Option<Vec<String>>,
    /// How users name it (`aurora.usrn`).
    pub display: String,
}

pub(super) struct Cx<'a> {
    pub env: &'a Env<'a>,
    pub items: &'a Items,
    pub file: FileId,
    pub kind: TemplateKind,
    pub body: hir::Body,
    pub diags: Vec<Diagnostic>,
    pub used_tables: BTreeSet<String>,
    /// Snapshot paths read by any mapping.
    pub aurora_read: BTreeSet<String>,
}

impl Cx<'_> {
    pub fn push(&mut self, node: Node) -> NodeId {
        self.body.push(node)
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message)
    }

    /// A placeholder node for an expression that did not check.
    pub fn poison(&mut self) -> NodeId {
        self.push(Node::Lit {
            value: hir::Value::Text(String::new()),
        })
    }
}

/// Checks one template against the schemas and the project's tables.
pub fn check_template(
    t: &ast::Template,
    file: FileId,
    env: &Env<'_>,
    items: &Items,
) -> TemplateOutput {
    let mut cx = Cx {
        env,
        items,
        file,
        kind: t.kind,
        body: hir::Body::default(),
        diags: Vec::new(),
        used_tables: BTreeSet::new(),
        aurora_read: BTreeSet::new(),
    };

    if env.connect.reference(&t.reference.value).is_none() {
        let names = env.connect.references.iter().map(|r| r.name.as_str());
        let mut d = cx
            .error(
                Code::E0103,
                t.reference_span,
                format!("unknown reference `ref.{}`", t.reference.value),
            )
            .with_primary_label("not a reference of the Connect schema");
        if let Some(s) = closest(&t.reference.value, names) {
            d = d.with_help(format!("did you mean `ref.{s}`?")).with_fix(
                format!("replace with `ref.{s}`"),
                file,
                t.reference.span,
                s,
            );
        } else {
            d = d.with_help(
                "references are declared under `[references.NAME]` in the Connect schema",
            );
        }
        cx.report(d);
    }

    let mut targets: Vec<(String, Span)> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::default();
    for m in &t.mappings {
        let Some(target) = cx.target(&m.target) else {
            // Still check the value, for its own errors.
            cx.expr(&m.value, false);
            continue;
        };
        let key = match &target.target {
            TargetRef::UdfDynamic { .. } => None,
            _ => Some(target.display.clone()),
        };
        if let Some(key) = &key {
            if let Some(first) = seen.get(key) {
                let d = cx
                    .error(Code::E0110, m.target.span(), format!("`{key}` is mapped twice in this template"))
                    .with_primary_label("mapped again here")
                    .with_label(file, *first, "first mapped here")
                    .with_help("a target takes one value; remove one mapping or combine them with `??` or `join`");
                cx.report(d);
            } else {
                seen.insert(key.clone(), m.target.span());
                targets.push((key.clone(), m.span));
            }
        }
        let (node, ty) = cx.expr(&m.value, false);
        let value = match ty {
            Some(ty) => cx.assign(node, &ty, &target, &m.value),
            None => node,
        };
        cx.body.mappings.push(hir::Mapping {
            target: target.target,
            value,
            span: m.span,
        });
    }

    cx.completeness(t, &seen);

    let has_errors = cx.diags.iter().any(|d| d.is_error());
    TemplateOutput {
        template: CheckedTemplate {
            file,
            kind: t.kind,
            name: t.name.value.clone(),
            reference: t.reference.value.clone(),
            doc: t.doc.clone(),
            header: t.header_span(),
            body: cx.body,
            has_errors,
        },
        diagnostics: cx.diags,
        used_tables: cx.used_tables,
        targets,
        name_span: t.name.span,
    }
}

impl Cx<'_> {
    /// E0301 (required create fields) and E0302 (required snapshot fields).
    fn completeness(&mut self, t: &ast::Template, mapped: &HashMap<String, Span>) {
        let header = t.header_span();
        match t.kind {
            TemplateKind::Create => {
                let missing: Vec<_> = self
                    .env
                    .aurora
                    .create
                    .iter()
                    .filter(|f| f.required && !mapped.contains_key(&format!("aurora.{}", f.name)))
                    .map(|f| (f.name.clone(), f.decl, f.ty))
                    .collect();
                for (name, decl, ty) in missing {
                    let d = self
                        .error(
                            Code::E0301,
                            header,
                            format!(
                                "the required Aurora field `aurora.{name}` is not mapped in `{}`",
                                t.name.value
                            ),
                        )
                        .with_primary_label(format!("`aurora.{name}` missing"))
                        .with_label(decl.file, decl.span, "declared required here")
                        .with_help(format!("add a mapping `aurora.{name} = …` ({})", ty.name()));
                    self.report(d);
                }
            }
            TemplateKind::Incoming => {
                let missing: Vec<_> = self
                    .env
                    .aurora
                    .snapshot
                    .iter()
                    .filter(|f| f.required && !self.aurora_read.contains(&f.path))
                    .map(|f| (f.path.clone(), f.decl))
                    .collect();
                for (path, decl) in missing {
                    let d = self
                        .error(
                            Code::E0302,
                            header,
                            format!(
                                "the incoming template `{}` never reads `aurora.{path}`",
                                t.name.value
                            ),
                        )
                        .with_primary_label(format!("`aurora.{path}` not read"))
                        .with_label(decl.file, decl.span, "marked required here")
                        .with_help(format!(
                            "map it into a Connect field, e.g. `field.some_field = aurora.{path}`"
                        ));
                    self.report(d);
                }
            }
        }
    }

    /// Resolves a mapping's target, reporting E0101/E0102/E0108/E0106/E0107/E0206.
    fn target(&mut self, target: &ast::Target) -> Option<TargetInfo> {
        let path = match target {
            ast::Target::Udf(key) => {
                if self.kind != TemplateKind::Create {
                    let d = self
                        .error(Code::E0108, key.span, "an incoming template cannot write a UDF")
                        .with_primary_label("not writable here")
                        .with_help("incoming templates write Connect fields: `field.NAME = …` or `date.NAME = …`");
                    self.report(d);
                    return None;
                }
                return self.udf_target(key);
            }
            ast::Target::Path(p) => p,
        };
        let display = path.display();
        let writable = match self.kind {
            TemplateKind::Create => matches!(path.root, Root::Aurora | Root::Contact),
            TemplateKind::Incoming => matches!(path.root, Root::Field | Root::Date),
        };
        if !writable {
            let help = match self.kind {
                TemplateKind::Create => {
                    "create templates write `aurora.FIELD`, `contact.FIELD` and `udf KEY`"
                }
                TemplateKind::Incoming => "incoming templates write `field.NAME` and `date.NAME`",
            };
            let d = self
                .error(
                    Code::E0108,
                    path.span,
                    format!(
                        "`{display}` cannot be written by {} template",
                        article(self.kind)
                    ),
                )
                .with_primary_label("not writable here")
                .with_help(help);
            self.report(d);
            return None;
        }
        let name = self.single_segment(path)?;
        let env = self.env;
        match path.root {
            Root::Aurora => self.aurora_target(
                path,
                &name,
                display,
                &env.aurora.create,
                "a CreateCase field of the Aurora schema",
                |f| TargetRef::Aurora {
                    field: f.name.clone(),
                    ty: f.ty,
                    wire: f.wire,
                    required: f.required,
                    max_length: f.max_length,
                },
            ),
            Root::Contact => self.aurora_target(
                path,
                &name,
                display,
                &env.aurora.contact,
                "a contact field of the Aurora schema",
                |f| TargetRef::Contact {
                    field: f.name.clone(),
                    ty: f.ty,
                    required: f.required,
                },
            ),
            // Incoming targets are never required: an empty value leaves the field unchanged.
            Root::Field => match env.connect.field(&name) {
                Some(f) => Some(TargetInfo {
                    target: TargetRef::Field {
                        name: f.name.clone(),
                        ty: f.ty,
                    },
                    ty: f.ty,
                    required: false,
                    max_len: f.max_length,
                    values: (f.ty == ScalarType::Choice).then(|| f.options.clone()),
                    display,
                }),
                None => {
                    let names: Vec<&str> =
                        env.connect.fields.iter().map(|f| f.name.as_str()).collect();
                    self.unknown(
                        Code::E0101,
                        path,
                        &name,
                        &names,
                        "a field of the Connect schema",
                    );
                    None
                }
            },
            Root::Date => match env.connect.date(&name) {
                Some(f) => Some(TargetInfo {
                    target: TargetRef::Date {
                        name: f.name.clone(),
                        ty: f.ty,
                    },
                    ty: f.ty,
                    required: false,
                    max_len: None,
                    values: None,
                    display,
                }),
                None => {
                    let names: Vec<&str> =
                        env.connect.dates.iter().map(|f| f.name.as_str()).collect();
                    self.unknown(
                        Code::E0101,
                        path,
                        &name,
                        &names,
                        "a date of the Connect schema",
                    );
                    None
                }
            },
            _ => None,
        }
    }

    /// A CreateCase or contact target: the field named in `fields`, or E0102 with the nearest
    /// names.
    fn aurora_target(
        &mut self,
        path: &ast::Path,
        name: &str,
        display: String,
        fields: &[AuroraField],
        what: &str,
        target: impl FnOnce(&AuroraField) -> TargetRef,
    ) -> Option<TargetInfo> {
        let Some(f) = fields.iter().find(|f| f.name == name) else {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            self.unknown(Code::E0102, path, name, &names, what);
            return None;
        };
        Some(TargetInfo {
            target: target(f),
            ty: f.ty,
            required: f.required,
            max_len: f.max_length,
            values: (f.ty == ScalarType::Choice).then(|| f.values.clone()),
            display,
        })
    }

    /// The one segment of a non-Aurora path; more than one is an unknown name.
    pub fn single_segment(&mut self, path: &ast::Path) -> Option<String> {
        if path.root == Root::Aurora && self.kind == TemplateKind::Incoming {
            return Some(path.dotted());
        }
        if path.segments.len() == 1 {
            return Some(path.segments[0].value.clone());
        }
        let code = match path.root {
            Root::Aurora | Root::Contact => Code::E0102,
            Root::Ref => Code::E0103,
            _ => Code::E0101,
        };
        let d = self
            .error(
                code,
                path.span,
                format!("unknown name `{}`", path.display()),
            )
            .with_primary_label(format!("`{}.` takes a single name", path.root.keyword()))
            .with_help("only `aurora.` paths into a snapshot have several parts");
        self.report(d);
        None
    }

    /// Reports an unknown name with a "did you mean" from the candidates.
    pub fn unknown(
        &mut self,
        code: Code,
        path: &ast::Path,
        name: &str,
        candidates: &[&str],
        what: &str,
    ) {
        let root = path.root.keyword();
        let mut d = self
            .error(
                code,
                path.span,
                format!("unknown name `{}`", path.display()),
            )
            .with_primary_label(format!("not {what}"));
        if let Some(s) = closest(name, candidates.iter().copied()) {
            let replacement = format!("{root}.{s}");
            d = d
                .with_help(format!("did you mean `{replacement}`?"))
                .with_fix(
                    format!("replace with `{replacement}`"),
                    self.file,
                    path.span,
                    replacement,
                );
        } else if candidates.is_empty() {
            d = d.with_help(format!("the schema declares no names under `{root}.`"));
        } else {
            let mut shown: Vec<&str> = candidates.iter().copied().take(8).collect();
            shown.sort_unstable();
            let more = if candidates.len() > 8 { ", …" } else { "" };
            d = d.with_help(format!("known names: {}{more}", shown.join(", ")));
        }
        self.report(d);
    }

    /// Checks `value` (of type `ty`) against a target and returns the node to store (with
    /// an implicit widening where one applies).
    pub(super) fn assign(
        &mut self,
        node: NodeId,
        ty: &Ty,
        target: &TargetInfo,
        expr: &ast::Expr,
    ) -> NodeId {
        let span = expr.span;
        let target_ty = target.ty;
        if target_ty == ScalarType::Choice {
            self.check_choice(ty, target, expr);
        } else if !converts(ty.scalar, target_ty)
            || (ty.scalar == ScalarType::Text && target_ty == ScalarType::Choice)
        {
            let shown = expr_text(expr);
            let mut d = self
                .error(
                    Code::E0201,
                    span,
                    format!(
                        "`{}` expects {}, but this is {}",
                        target.display,
                        target_ty.name(),
                        ty.scalar.name()
                    ),
                )
                .with_primary_label(format!("{} value", ty.scalar.name()));
            if let Some(h) = conversion_help(ty.scalar, target_ty, &shown) {
                d = d.with_help(h);
            }
            self.report(d);
            return node;
        }
        if target.required && ty.optional {
            let d = self
                .error(
                    Code::E0202,
                    span,
                    format!("`{}` is required, but this value may be empty", target.display),
                )
                .with_primary_label(format!("{} may be empty", ty.describe()))
                .with_help(format!(
                    "give a default with `?? {}`, or assert a value with `!` (the case then fails when it is empty)",
                    default_literal(target_ty)
                ))
                .with_fix("assert a value with `!`", self.file, Span::new(span.end, span.end), "!")
                .with_fix(
                    "give a default with `??`",
                    self.file,
                    Span::new(span.end, span.end),
                    format!(" ?? {}", default_literal(target_ty)),
                );
            self.report(d);
        }
        if let Some(max) = target.max_len {
            self.check_length(ty, max, target, span);
        }
        let needs_widen = ty.scalar != target_ty
            && matches!(
                (ty.scalar, target_ty),
                (ScalarType::Date, ScalarType::Datetime)
                    | (ScalarType::Integer, ScalarType::Number)
            );
        if needs_widen {
            self.push(Node::Widen {
                a: node,
                to: target_ty,
            })
        } else {
            node
        }
    }

    fn check_length(&mut self, ty: &Ty, max: u32, target: &TargetInfo, span: Span) {
        if let Some(values) = &ty.values {
            for (v, origin) in values {
                let n = v.chars().count() as u32;
                if n > max && *origin == Origin::Literal {
                    let d = self
                        .error(
                            Code::E0204,
                            span,
                            format!(
                                "this text is {n} characters long, but `{}` takes at most {max}",
                                target.display
                            ),
                        )
                        .with_primary_label("too long")
                        .with_help(format!(
                            "shorten the text, or wrap it in `truncate(…, {max})`"
                        ));
                    self.report(d);
                    return;
                }
            }
        }
        if let Some(src) = ty.max_len
            && src > max
            && ty.values.is_none()
        {
            let d = self
                .error(
                    Code::W0202,
                    span,
                    format!("this value may be up to {src} characters long, but `{}` takes at most {max}", target.display),
                )
                .with_primary_label(format!("up to {src} characters"))
                .with_help(format!("wrap it in `truncate(…, {max})` to cut it to size"));
            self.report(d);
        }
    }

    fn check_choice(&mut self, ty: &Ty, target: &TargetInfo, expr: &ast::Expr) {
        let allowed = target.values.clone().unwrap_or_default();
        if !ty.is_textual() {
            let d = self
                .error(
                    Code::E0201,
                    expr.span,
                    format!(
                        "`{}` expects a choice, but this is {}",
                        target.display,
                        ty.scalar.name()
                    ),
                )
                .with_primary_label(format!("{} value", ty.scalar.name()))
                .with_help("map it through a table whose values are the allowed choices");
            self.report(d);
            return;
        }
        let Some(values) = &ty.values else {
            let d = self
                .error(
                    Code::E0201,
                    expr.span,
                    format!(
                        "`{}` is a choice, but this text's values are not known when checking",
                        target.display
                    ),
                )
                .with_primary_label("free text")
                .with_help(format!(
                    "map it through a table whose values are among: {}",
                    quote_list(&allowed)
                ));
            self.report(d);
            return;
        };
        let mut reported_tables = BTreeSet::new();
        for (v, origin) in values {
            if allowed.iter().any(|a| a == v) {
                continue;
            }
            match origin {
                Origin::Table(name) => {
                    if !reported_tables.insert(name.clone()) {
                        continue;
                    }
                    let bad: Vec<String> = values
                        .iter()
                        .filter(|(w, o)| o == origin && !allowed.contains(w))
                        .map(|(w, _)| w.clone())
                        .collect();
                    let mut d = self
                        .error(
                            Code::E0205,
                            expr.span,
                            format!(
                                "the table `{name}` has values that `{}` does not allow: {}",
                                target.display,
                                quote_list(&bad)
                            ),
                        )
                        .with_primary_label("values of this table are not all allowed")
                        .with_help(format!("allowed values: {}", quote_list(&allowed)));
                    if let Some(info) = self.items.table(name) {
                        for (val, span) in info.values.iter().zip(&info.value_spans) {
                            if bad.contains(val) {
                                d = d.with_label(info.file, *span, "not allowed");
                            }
                        }
                    }
                    self.report(d);
                }
                Origin::Literal | Origin::Option => {
                    let what = if *origin == Origin::Literal {
                        ""
                    } else {
                        " (an option of the source)"
                    };
                    let mut d = self
                        .error(
                            Code::E0203,
                            expr.span,
                            format!(
                                "\"{v}\"{what} is not an allowed value of `{}`",
                                target.display
                            ),
                        )
                        .with_primary_label("not allowed");
                    match closest(v, allowed.iter().map(|s| s.as_str())) {
                        Some(s) => {
                            d = d.with_help(format!(
                                "did you mean \"{s}\"? allowed values: {}",
                                quote_list(&allowed)
                            ))
                        }
                        None => {
                            d = d.with_help(format!("allowed values: {}", quote_list(&allowed)))
                        }
                    }
                    self.report(d);
                }
            }
        }
    }
}

fn article(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Create => "a create",
        TemplateKind::Incoming => "an incoming",
    }
}

pub(super) fn quote_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn default_literal(ty: ScalarType) -> &'static str {
    match ty {
        ScalarType::Number | ScalarType::Integer => "0",
        ScalarType::Bool => "false",
        _ => "\"\"",
    }
}

/// A short rendering of an expression for help lines (paths as written, else `…`).
pub(super) fn expr_text(e: &ast::Expr) -> String {
    match &e.kind {
        ast::ExprKind::Path(p) => p.display(),
        ast::ExprKind::Name(n) => n.value.clone(),
        ast::ExprKind::Number(n) => n.clone(),
        ast::ExprKind::Bool(b) => b.to_string(),
        ast::ExprKind::Str(s) => match s.as_plain() {
            Some(t) => format!("{t:?}"),
            None => "\"…\"".into(),
        },
        ast::ExprKind::Call { name, .. } => format!("{}(…)", name.value),
        _ => "…".into(),
    }
}
