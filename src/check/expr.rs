//! Checking expressions: sources, UDF keys, literals, calls, conditionals, `??` and `!`.
//! Each check lowers the expression into the template's flat body as it goes.

use super::functions::{Builtin, FunctionInfo, Param};
use super::hir::{self, CompareOp, Node, NodeId, Part, Source, TargetRef};
use super::literal::{canonical_number, check_date_format, check_number_format};
use super::suggest::closest;
use super::template::{Cx, TargetInfo, expr_text, quote_list};
use super::ty::{Origin, Ty, conversion_help, unify};
use crate::diagnostics::{Code, Span};
use crate::schema::{ADDRESS_ATTRS, CASE_ATTRS, PERSON_ATTRS, ScalarType, address_attr_type};
use crate::syntax::ast::{self, ExprKind, Root, TemplateKind};

/// How deep expressions may nest before checking stops descending.
const MAX_DEPTH: u32 = 64;

impl Cx<'_> {
    /// Checks an expression; `defaulted` is true on the left of `??`. Returns the lowered
    /// node and the type, or `None` when an error was reported (no cascades).
    pub fn expr(&mut self, e: &ast::Expr, defaulted: bool) -> (NodeId, Option<Ty>) {
        self.expr_at(e, defaulted, 0)
    }

    fn expr_at(&mut self, e: &ast::Expr, defaulted: bool, depth: u32) -> (NodeId, Option<Ty>) {
        if depth > MAX_DEPTH {
            return (self.poison(), None);
        }
        match &e.kind {
            ExprKind::Str(s) => self.string(s),
            ExprKind::Number(n) => {
                let (value, scalar) = if n.contains('.') {
                    (
                        canonical_number(n).map(hir::Value::Number),
                        ScalarType::Number,
                    )
                } else {
                    (
                        n.parse::<i64>().ok().map(hir::Value::Integer),
                        ScalarType::Integer,
                    )
                };
                match value {
                    Some(value) => {
                        let text = super::items::value_text(&value);
                        let node = self.push(Node::Lit { value });
                        (
                            node,
                            Some(Ty::new(scalar).with_values([text], Origin::Literal)),
                        )
                    }
                    None => {
                        let d = self
                            .error(
                                Code::E0201,
                                e.span,
                                format!("`{n}` is not a number this language can hold"),
                            )
                            .with_primary_label("out of range")
                            .with_help("integers are 64-bit; write large values as text");
                        self.report(d);
                        (self.poison(), None)
                    }
                }
            }
            ExprKind::Bool(b) => {
                let node = self.push(Node::Lit {
                    value: hir::Value::Bool(*b),
                });
                (node, Some(Ty::new(ScalarType::Bool)))
            }
            ExprKind::Path(p) => match self.source(p) {
                Some((source, ty)) => (self.push(Node::Source { source }), Some(ty)),
                None => (self.poison(), None),
            },
            ExprKind::Name(n) => {
                let mut d = self
                    .error(Code::E0101, n.span, format!("`{}` is not a value", n.value))
                    .with_primary_label("a bare name");
                if self.items.table(&n.value).is_some() {
                    d = d.with_help(format!(
                        "`{0}` is a table: use it as `lookup(KEY, {0})`",
                        n.value
                    ));
                } else {
                    d = d.with_help("sources start with a namespace: `field.`, `date.`, `case.`, `person.`, `address.`, `ref.` or `aurora.`");
                }
                self.report(d);
                (self.poison(), None)
            }
            ExprKind::Udf(key) => self.udf_source(key),
            ExprKind::Call { name, args } => self.call(e, name, args, defaulted, depth),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.cond(cond, depth + 1);
                let (t, tt) = self.expr_at(then, false, depth + 1);
                let (o, ot) = self.expr_at(otherwise, false, depth + 1);
                let node = self.push(Node::If {
                    cond: c,
                    then: t,
                    otherwise: o,
                });
                let (Some(tt), Some(ot)) = (tt, ot) else {
                    return (node, None);
                };
                match unify(tt.scalar, ot.scalar) {
                    Some(scalar) => (
                        node,
                        Some(join_types(scalar, &tt, &ot, tt.optional || ot.optional)),
                    ),
                    None => {
                        let d = self
                            .error(
                                Code::E0201,
                                e.span,
                                format!(
                                    "the branches of this `if` differ: {} and {}",
                                    tt.scalar.name(),
                                    ot.scalar.name()
                                ),
                            )
                            .with_primary_label("branches of different types")
                            .with_label(self.file, then.span, tt.scalar.name())
                            .with_label(self.file, otherwise.span, ot.scalar.name())
                            .with_help("convert one branch so both give the same type");
                        self.report(d);
                        (node, None)
                    }
                }
            }
            ExprKind::Coalesce(a, b) => {
                let (an, at) = self.expr_at(a, true, depth + 1);
                let (bn, bt) = self.expr_at(b, defaulted, depth + 1);
                let node = self.push(Node::Coalesce { a: an, b: bn });
                let (Some(at), Some(bt)) = (at, bt) else {
                    return (node, None);
                };
                if !at.optional && !at.fallible {
                    let d = self
                        .error(Code::W0201, a.span, "`??` on a value that is never empty")
                        .with_primary_label(format!("{} is never empty", at.describe()))
                        .with_help("the default is never used; remove `?? …`");
                    self.report(d);
                }
                match unify(at.scalar, bt.scalar) {
                    Some(scalar) => {
                        let mut ty = join_types(scalar, &at, &bt, bt.optional);
                        ty.fallible = bt.fallible;
                        (node, Some(ty))
                    }
                    None => {
                        let mut d = self
                            .error(
                                Code::E0201,
                                b.span,
                                format!(
                                    "the default is {}, but the value before `??` is {}",
                                    bt.scalar.name(),
                                    at.scalar.name()
                                ),
                            )
                            .with_primary_label(format!("{} default", bt.scalar.name()))
                            .with_label(self.file, a.span, at.scalar.name());
                        if let Some(h) = conversion_help(bt.scalar, at.scalar, &expr_text(b)) {
                            d = d.with_help(h);
                        }
                        self.report(d);
                        (node, None)
                    }
                }
            }
            ExprKind::Require(a) => {
                let (an, at) = self.expr_at(a, defaulted, depth + 1);
                let node = self.push(Node::Require { a: an });
                let Some(mut at) = at else {
                    return (node, None);
                };
                if !at.optional {
                    let d = self
                        .error(Code::W0201, e.span, "`!` on a value that is never empty")
                        .with_primary_label(format!("{} is never empty", at.describe()))
                        .with_help("remove the `!`")
                        .with_fix(
                            "remove the `!`",
                            self.file,
                            Span::new(e.span.end - 1, e.span.end),
                            "",
                        );
                    self.report(d);
                }
                at.optional = false;
                (node, Some(at))
            }
            ExprKind::Not(a) => {
                let (an, at) = self.expr_at(a, false, depth + 1);
                let node = self.push(Node::Not { a: an });
                let Some(at) = at else { return (node, None) };
                if at.scalar != ScalarType::Bool {
                    let d = self
                        .error(
                            Code::E0201,
                            a.span,
                            format!("`not` takes a bool, but this is {}", at.scalar.name()),
                        )
                        .with_primary_label(at.scalar.name());
                    self.report(d);
                    return (node, None);
                }
                (node, Some(Ty::new(ScalarType::Bool).optional(at.optional)))
            }
            ExprKind::Paren(inner) => self.expr_at(inner, defaulted, depth + 1),
        }
    }

    fn string(&mut self, s: &ast::StrLit) -> (NodeId, Option<Ty>) {
        if let Some(text) = s.as_plain() {
            let n = text.chars().count() as u32;
            let node = self.push(Node::Lit {
                value: hir::Value::Text(text.clone()),
            });
            return (
                node,
                Some(
                    Ty::new(ScalarType::Text)
                        .with_values([text], Origin::Literal)
                        .with_max_len(Some(n)),
                ),
            );
        }
        let mut parts = Vec::with_capacity(s.parts.len());
        let mut ok = true;
        for part in &s.parts {
            match part {
                ast::StrPart::Text(t) => parts.push(Part::Text(t.clone())),
                ast::StrPart::Interp(p) => match self.source(p) {
                    Some((source, _)) => {
                        let node = self.push(Node::Source { source });
                        parts.push(Part::Node { node });
                    }
                    None => ok = false,
                },
            }
        }
        let node = self.push(Node::Interp { parts });
        (node, ok.then(|| Ty::new(ScalarType::Text)))
    }

    /// Resolves a source path, checking that it may be read in this kind of template.
    pub fn source(&mut self, p: &ast::Path) -> Option<(Source, Ty)> {
        let readable = match self.kind {
            TemplateKind::Create => {
                matches!(
                    p.root,
                    Root::Case
                        | Root::Field
                        | Root::Date
                        | Root::Person
                        | Root::Address
                        | Root::Ref
                )
            }
            TemplateKind::Incoming => matches!(
                p.root,
                Root::Case | Root::Field | Root::Date | Root::Ref | Root::Aurora
            ),
        };
        if !readable {
            let help = match (self.kind, p.root) {
                (_, Root::Contact) => "`contact.` fields are written, never read",
                (TemplateKind::Create, Root::Aurora) => {
                    "`aurora.` fields are targets in a create template; read Aurora values in an incoming template"
                }
                (TemplateKind::Create, _) => {
                    "create templates read `case.`, `field.`, `date.`, `person.`, `address.` and `ref.`"
                }
                (TemplateKind::Incoming, _) => {
                    "incoming templates read `aurora.`, `udf`, `case.`, `field.`, `date.` and `ref.`"
                }
            };
            let kind = if self.kind == TemplateKind::Create {
                "a create"
            } else {
                "an incoming"
            };
            let d = self
                .error(
                    Code::E0108,
                    p.span,
                    format!("`{}` cannot be read in {kind} template", p.display()),
                )
                .with_primary_label("not readable here")
                .with_help(help);
            self.report(d);
            return None;
        }
        let name = self.single_segment(p)?;
        let env = self.env;
        match p.root {
            Root::Case => match CASE_ATTRS.iter().find(|(n, _, _)| *n == name) {
                Some((n, ty, required)) => Some((
                    Source::Case {
                        attr: n.to_string(),
                    },
                    Ty::new(*ty).optional(!required),
                )),
                None => {
                    let names: Vec<&str> = CASE_ATTRS.iter().map(|(n, _, _)| *n).collect();
                    self.unknown(Code::E0101, p, &name, &names, "a built-in case attribute");
                    None
                }
            },
            Root::Field => match env.connect.field(&name) {
                Some(f) => {
                    let mut ty = Ty::new(f.ty)
                        .optional(!f.required)
                        .with_max_len(f.max_length);
                    if f.ty == ScalarType::Choice {
                        ty = ty.with_values(f.options.iter().cloned(), Origin::Option);
                    }
                    Some((
                        Source::Field {
                            name: f.name.clone(),
                            ty: f.ty,
                        },
                        ty,
                    ))
                }
                None => {
                    let names: Vec<&str> =
                        env.connect.fields.iter().map(|f| f.name.as_str()).collect();
                    self.unknown(
                        Code::E0101,
                        p,
                        &name,
                        &names,
                        "a field of the Connect schema",
                    );
                    None
                }
            },
            Root::Date => match env.connect.date(&name) {
                Some(f) => Some((
                    Source::Date {
                        name: f.name.clone(),
                        ty: f.ty,
                    },
                    Ty::new(f.ty).optional(!f.required),
                )),
                None => {
                    let names: Vec<&str> =
                        env.connect.dates.iter().map(|f| f.name.as_str()).collect();
                    self.unknown(
                        Code::E0101,
                        p,
                        &name,
                        &names,
                        "a date of the Connect schema",
                    );
                    None
                }
            },
            Root::Person => {
                if PERSON_ATTRS.contains(&name.as_str()) {
                    Some((
                        Source::Person { attr: name },
                        Ty::new(ScalarType::Text).optional(true),
                    ))
                } else {
                    self.unknown(
                        Code::E0101,
                        p,
                        &name,
                        PERSON_ATTRS,
                        "an attribute of the linked person",
                    );
                    None
                }
            }
            Root::Address => {
                if ADDRESS_ATTRS.contains(&name.as_str()) {
                    let ty = Ty::new(address_attr_type(&name)).optional(true);
                    Some((Source::Address { attr: name }, ty))
                } else {
                    self.unknown(
                        Code::E0101,
                        p,
                        &name,
                        ADDRESS_ATTRS,
                        "an attribute of the linked address",
                    );
                    None
                }
            }
            Root::Ref => match env.connect.reference(&name) {
                Some(r) => Some((
                    Source::Ref {
                        name: r.name.clone(),
                    },
                    Ty::new(ScalarType::Text).optional(true),
                )),
                None => {
                    let names: Vec<&str> = env
                        .connect
                        .references
                        .iter()
                        .map(|r| r.name.as_str())
                        .collect();
                    self.unknown(
                        Code::E0103,
                        p,
                        &name,
                        &names,
                        "a reference of the Connect schema",
                    );
                    None
                }
            },
            Root::Aurora => match env.aurora.snapshot_field(&name) {
                Some(f) => {
                    self.aurora_read.insert(f.path.clone());
                    let mut ty = Ty::new(f.ty).optional(true);
                    if f.ty == ScalarType::Choice {
                        ty = ty.with_values(f.values.iter().cloned(), Origin::Option);
                    }
                    Some((
                        Source::Aurora {
                            path: f.path.clone(),
                            ty: f.ty,
                        },
                        ty,
                    ))
                }
                None => {
                    let names: Vec<&str> = env
                        .aurora
                        .snapshot
                        .iter()
                        .map(|f| f.path.as_str())
                        .collect();
                    self.unknown(
                        Code::E0102,
                        p,
                        &name,
                        &names,
                        "a snapshot field of the Aurora schema",
                    );
                    None
                }
            },
            Root::Contact => None,
        }
    }

    /// `udf KEY` read in an incoming template.
    fn udf_source(&mut self, key: &ast::UdfKey) -> (NodeId, Option<Ty>) {
        if self.kind != TemplateKind::Incoming {
            let d = self
                .error(Code::E0108, key.span, "a create template cannot read a UDF")
                .with_primary_label("not readable here")
                .with_help("in a create template `udf KEY` is a target: `udf \"CODE\" = …`");
            self.report(d);
            return (self.poison(), None);
        }
        match &key.kind {
            ast::UdfKeyKind::Static(name) => match self.resolve_udf(name) {
                Some((code, ty, values)) => {
                    let node = self.push(Node::Source {
                        source: Source::Udf { code, ty },
                    });
                    let mut t = Ty::new(ty).optional(true);
                    if ty == ScalarType::Choice {
                        t = t.with_values(values, Origin::Option);
                    }
                    (node, Some(t))
                }
                None => (self.poison(), None),
            },
            ast::UdfKeyKind::Dynamic(path) => match self.dynamic_udf_key(path) {
                Some((k, resolved)) => {
                    let node = self.push(Node::Source {
                        source: Source::UdfDynamic { key: k },
                    });
                    let scalar = common_scalar(&resolved).unwrap_or(ScalarType::Text);
                    (node, Some(Ty::new(scalar).optional(true)))
                }
                None => (self.poison(), None),
            },
        }
    }

    /// A UDF target in a create template.
    pub(super) fn udf_target(&mut self, key: &ast::UdfKey) -> Option<TargetInfo> {
        match &key.kind {
            ast::UdfKeyKind::Static(name) => {
                let (code, ty, values) = self.resolve_udf(name)?;
                let max_len = self
                    .env
                    .aurora
                    .udf_by_code(&code)
                    .and_then(|u| u.max_length);
                Some(TargetInfo {
                    target: TargetRef::Udf {
                        code: code.clone(),
                        ty,
                    },
                    ty,
                    required: false,
                    max_len,
                    values: (ty == ScalarType::Choice).then_some(values),
                    display: format!("udf \"{code}\""),
                })
            }
            ast::UdfKeyKind::Dynamic(path) => {
                let (k, resolved) = self.dynamic_udf_key(path)?;
                // The value must fit every UDF the key can name; when they share one scalar
                // type, check against it, otherwise accept any text-convertible value.
                let ty = common_scalar(&resolved).unwrap_or(ScalarType::Text);
                let ty = if ty == ScalarType::Choice {
                    ScalarType::Text
                } else {
                    ty
                };
                Some(TargetInfo {
                    target: TargetRef::UdfDynamic { key: k },
                    ty,
                    required: false,
                    max_len: None,
                    values: None,
                    display: format!("udf {}", path.display()),
                })
            }
        }
    }

    /// Resolves a static UDF key (code first, then name), reporting E0106/E0107.
    fn resolve_udf(&mut self, name: &ast::Name) -> Option<(String, ScalarType, Vec<String>)> {
        match self.env.aurora.resolve_udf(&name.value) {
            Ok(u) => Some((u.code.clone(), u.ty, u.values.clone())),
            Err(0) => {
                let candidates: Vec<&str> = self
                    .env
                    .aurora
                    .udfs
                    .iter()
                    .flat_map(|u| [u.code.as_str(), u.name.as_str()])
                    .collect();
                let mut d = self
                    .error(
                        Code::E0106,
                        name.span,
                        format!("no UDF has the code or name \"{}\"", name.value),
                    )
                    .with_primary_label("unknown UDF");
                if let Some(s) = closest(&name.value, candidates.iter().copied()) {
                    d = d.with_help(format!("did you mean \"{s}\"?")).with_fix(
                        format!("replace with \"{s}\""),
                        self.file,
                        name.span,
                        format!("\"{s}\""),
                    );
                } else {
                    d = d.with_help("UDFs are declared as `[[udf]]` entries (code and name) in the Aurora schema");
                }
                self.report(d);
                None
            }
            Err(n) => {
                let codes: Vec<String> = self
                    .env
                    .aurora
                    .udfs
                    .iter()
                    .filter(|u| u.name.eq_ignore_ascii_case(&name.value))
                    .map(|u| u.code.clone())
                    .collect();
                let d = self
                    .error(
                        Code::E0107,
                        name.span,
                        format!("the UDF name \"{}\" matches {n} UDFs", name.value),
                    )
                    .with_primary_label("ambiguous")
                    .with_help(format!("use the code instead: {}", quote_list(&codes)));
                self.report(d);
                None
            }
        }
    }

    /// A dynamic UDF key: a text or choice source; every option of a choice must resolve.
    /// Returns the key's node and the scalar types of the UDFs it can name (when known).
    fn dynamic_udf_key(&mut self, path: &ast::Path) -> Option<(NodeId, Vec<ScalarType>)> {
        let (source, ty) = self.source(path)?;
        if !ty.is_textual() {
            let d = self
                .error(
                    Code::E0206,
                    path.span,
                    format!(
                        "a UDF key must be text or a choice, but `{}` is {}",
                        path.display(),
                        ty.scalar.name()
                    ),
                )
                .with_primary_label(format!("{} key", ty.scalar.name()))
                .with_help("use a text or choice field whose value is the UDF's code or name");
            self.report(d);
            return None;
        }
        let mut resolved = Vec::new();
        if ty.scalar == ScalarType::Choice {
            for (option, _) in ty.values.iter().flatten() {
                match self.env.aurora.resolve_udf(option) {
                    Ok(u) => resolved.push(u.ty),
                    Err(0) => {
                        let d = self
                            .error(
                                Code::E0106,
                                path.span,
                                format!("the option \"{option}\" of `{}` is not the code or name of any UDF", path.display()),
                            )
                            .with_primary_label(format!("\"{option}\" resolves to no UDF"))
                            .with_help("every option of a choice used as a UDF key must name a UDF");
                        self.report(d);
                    }
                    Err(n) => {
                        let d = self
                            .error(
                                Code::E0107,
                                path.span,
                                format!(
                                    "the option \"{option}\" of `{}` matches {n} UDFs by name",
                                    path.display()
                                ),
                            )
                            .with_primary_label("ambiguous option");
                        self.report(d);
                    }
                }
            }
        }
        let node = self.push(Node::Source { source });
        Some((node, resolved))
    }

    fn call(
        &mut self,
        e: &ast::Expr,
        name: &ast::Name,
        args: &[ast::Expr],
        defaulted: bool,
        depth: u32,
    ) -> (NodeId, Option<Ty>) {
        let Some(builtin) = Builtin::by_name(&name.value) else {
            let names: Vec<&str> = super::functions::FUNCTIONS.iter().map(|f| f.name).collect();
            let mut d = self
                .error(
                    Code::E0105,
                    name.span,
                    format!("unknown function `{}`", name.value),
                )
                .with_primary_label("not a built-in function");
            if let Some(s) = closest(&name.value, names.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                    format!("replace with `{s}`"),
                    self.file,
                    name.span,
                    s,
                );
            } else {
                d = d.with_help(format!("the built-in functions are: {}", names.join(", ")));
            }
            self.report(d);
            for a in args {
                self.expr_at(a, false, depth + 1);
            }
            return (self.poison(), None);
        };
        let info = builtin.info();
        if !info.arity.accepts(args.len()) {
            let d = self
                .error(
                    Code::E0105,
                    e.span,
                    format!(
                        "`{}` takes {}, but {} were given",
                        info.name,
                        info.arity.describe(),
                        args.len()
                    ),
                )
                .with_primary_label("wrong number of arguments")
                .with_help(format!("the signature is `{}`", info.signature));
            self.report(d);
            for a in args {
                self.expr_at(a, false, depth + 1);
            }
            return (self.poison(), None);
        }
        if builtin == Builtin::Lookup {
            return self.lookup(&args[0], &args[1], defaulted, depth);
        }
        let mut nodes = Vec::with_capacity(args.len());
        let mut tys = Vec::with_capacity(args.len());
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            let param = info
                .params
                .get(i)
                .copied()
                .or(info.rest)
                .unwrap_or(Param::Any);
            let (n, t) = self.expr_at(a, false, depth + 1);
            nodes.push(n);
            match t {
                Some(t) => {
                    if !self.check_param(info, param, a, &t, tys.first()) {
                        ok = false;
                    }
                    tys.push(t);
                }
                None => ok = false,
            }
        }
        let node = self.push(Node::Call {
            func: builtin,
            args: nodes,
        });
        if !ok {
            return (node, None);
        }
        let any_optional = tys.iter().any(|t| t.optional);
        let any_fallible = tys.iter().any(|t| t.fallible);
        let first = &tys[0..1.min(tys.len())];
        let ty = match builtin {
            Builtin::Text => Ty::new(ScalarType::Text),
            Builtin::Number => Ty::new(ScalarType::Number),
            Builtin::Integer => Ty::new(ScalarType::Integer),
            Builtin::Date => Ty::new(ScalarType::Date),
            Builtin::Datetime => Ty::new(ScalarType::Datetime),
            Builtin::Format
            | Builtin::Upper
            | Builtin::Lower
            | Builtin::Replace
            | Builtin::Phone => Ty::new(ScalarType::Text),
            Builtin::Trim => {
                Ty::new(ScalarType::Text).with_max_len(first.first().and_then(|t| t.max_len))
            }
            Builtin::Truncate => {
                let n = literal_count(&args[1]);
                let inner = first.first().and_then(|t| t.max_len);
                Ty::new(ScalarType::Text).with_max_len(match (n, inner) {
                    (Some(n), Some(m)) => Some(n.min(m)),
                    (n, m) => n.or(m),
                })
            }
            Builtin::Join => Ty::new(ScalarType::Text),
            Builtin::Now => Ty::new(ScalarType::Datetime),
            Builtin::Lookup => Ty::new(ScalarType::Text),
        };
        let optional = if builtin == Builtin::Join {
            false
        } else {
            any_optional
        };
        let mut ty = ty.optional(optional);
        ty.fallible = info.fallible || any_fallible;
        (node, Some(ty))
    }

    /// Checks one argument against its parameter kind; false when an error was reported.
    fn check_param(
        &mut self,
        info: &FunctionInfo,
        param: Param,
        a: &ast::Expr,
        t: &Ty,
        first: Option<&Ty>,
    ) -> bool {
        let fits = match param {
            Param::Any | Param::Table => true,
            Param::Text => t.is_textual(),
            Param::TextOrNumber => t.is_textual() || t.is_numeric(),
            Param::Formattable => {
                t.is_numeric() || matches!(t.scalar, ScalarType::Date | ScalarType::Datetime)
            }
            Param::DateFormat => {
                let Some(fmt) = plain_string(a) else {
                    let d = self
                        .error(
                            Code::E0207,
                            a.span,
                            format!("the format of `{}` must be a string literal", info.name),
                        )
                        .with_primary_label("not a literal")
                        .with_help("write the format in quotes, e.g. \"%d/%m/%Y\"");
                    self.report(d);
                    return false;
                };
                let numeric = first.is_some_and(|f| f.is_numeric());
                let result = if numeric {
                    check_number_format(&fmt)
                } else {
                    check_date_format(&fmt)
                };
                if let Err(reason) = result {
                    let d = self
                        .error(Code::E0207, a.span, format!("invalid format: {reason}"))
                        .with_primary_label("invalid format")
                        .with_help("formats use strftime specifiers: %Y year, %m month, %d day, %H hour, %M minute, %S second");
                    self.report(d);
                    return false;
                }
                return true;
            }
            Param::Count => {
                if literal_count(a).is_none() {
                    let d = self
                        .error(
                            Code::E0201,
                            a.span,
                            format!("the length given to `{}` must be a whole number written in the template", info.name),
                        )
                        .with_primary_label("not a literal count")
                        .with_help("e.g. `truncate(field.details, 2000)`");
                    self.report(d);
                    return false;
                }
                return true;
            }
        };
        if !fits {
            let expected = match param {
                Param::Text => "text",
                Param::TextOrNumber => "text or a number",
                _ => "a date, datetime or number",
            };
            let mut d = self
                .error(
                    Code::E0201,
                    a.span,
                    format!(
                        "`{}` expects {expected} here, but this is {}",
                        info.name,
                        t.scalar.name()
                    ),
                )
                .with_primary_label(format!("{} value", t.scalar.name()));
            let to = if param == Param::Formattable {
                ScalarType::Number
            } else {
                ScalarType::Text
            };
            if let Some(h) = conversion_help(t.scalar, to, &expr_text(a)) {
                d = d.with_help(h);
            } else {
                d = d.with_help(format!("the signature is `{}`", info.signature));
            }
            self.report(d);
        }
        fits
    }

    fn lookup(
        &mut self,
        key: &ast::Expr,
        table: &ast::Expr,
        defaulted: bool,
        depth: u32,
    ) -> (NodeId, Option<Ty>) {
        let (kn, kt) = self.expr_at(key, false, depth + 1);
        let ExprKind::Name(tname) = &table.kind else {
            let d = self
                .error(
                    Code::E0104,
                    table.span,
                    "the second argument of `lookup` must be a table name",
                )
                .with_primary_label("not a table name")
                .with_help("write `lookup(KEY, table_name)`");
            self.report(d);
            return (self.poison(), None);
        };
        let Some(info) = self.items.table(&tname.value).cloned() else {
            let names: Vec<&str> = self.items.tables.keys().map(|s| s.as_str()).collect();
            let mut d = self
                .error(
                    Code::E0104,
                    tname.span,
                    format!("unknown table `{}`", tname.value),
                )
                .with_primary_label("no table of this name");
            if let Some(s) = closest(&tname.value, names.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?")).with_fix(
                    format!("replace with `{s}`"),
                    self.file,
                    tname.span,
                    s,
                );
            } else {
                d = d.with_help("tables are declared with `table NAME: K -> V { … }` in any file of the project");
            }
            self.report(d);
            return (self.poison(), None);
        };
        self.used_tables.insert(info.name.clone());
        let node = self.push(Node::Lookup {
            table: info.index,
            key: kn,
        });
        let Some(kt) = kt else { return (node, None) };
        let key_fits = super::ty::converts(kt.scalar, info.key)
            || (kt.is_textual() && info.key == ScalarType::Text);
        if !key_fits {
            let d = self
                .error(
                    Code::E0201,
                    key.span,
                    format!(
                        "the table `{}` is keyed by {}, but this key is {}",
                        info.name,
                        info.key.name(),
                        kt.scalar.name()
                    ),
                )
                .with_primary_label(format!("{} key", kt.scalar.name()))
                .with_label(info.file, info.name_span, "table declared here");
            self.report(d);
            return (node, None);
        }
        if kt.scalar == ScalarType::Choice && !defaulted {
            let missing: Vec<String> = kt
                .values
                .iter()
                .flatten()
                .filter(|(o, _)| !info.keys.contains(o))
                .map(|(o, _)| o.clone())
                .collect();
            if !missing.is_empty() {
                let d = self
                    .error(
                        Code::W0404,
                        key.span,
                        format!("the table `{}` has no entry for {} of this choice", info.name, quote_list(&missing)),
                    )
                    .with_primary_label("not every option is covered")
                    .with_label(info.file, info.name_span, "table declared here")
                    .with_help("add the missing keys to the table, or give a default: `lookup(…) ?? \"…\"`");
                self.report(d);
            }
        }
        let mut ty = Ty::new(info.value)
            .optional(true)
            .with_max_len(info.max_value_len)
            .with_values(
                info.values.iter().cloned(),
                Origin::Table(info.name.clone()),
            );
        ty.fallible = kt.fallible;
        (node, Some(ty))
    }

    /// Checks a condition and lowers it.
    fn cond(&mut self, c: &ast::Cond, depth: u32) -> NodeId {
        if depth > MAX_DEPTH {
            return self.poison();
        }
        match &c.kind {
            ast::CondKind::Expr(e) => {
                let (n, t) = self.expr_at(e, false, depth + 1);
                if let Some(t) = t
                    && t.scalar != ScalarType::Bool
                {
                    let d = self
                        .error(
                            Code::E0201,
                            e.span,
                            format!(
                                "a condition must be a bool, but this is {}",
                                t.scalar.name()
                            ),
                        )
                        .with_primary_label(t.scalar.name())
                        .with_help(
                            "compare it: `x == \"value\"`, or test presence: `exists(field.x)`",
                        );
                    self.report(d);
                }
                n
            }
            ast::CondKind::Compare { op, lhs, rhs } => {
                let (a, at) = self.expr_at(lhs, false, depth + 1);
                let (b, bt) = self.expr_at(rhs, false, depth + 1);
                if let (Some(at), Some(bt)) = (at, bt)
                    && unify(at.scalar, bt.scalar).is_none()
                {
                    let d = self
                        .error(
                            Code::E0201,
                            c.span,
                            format!(
                                "cannot compare {} with {}",
                                at.scalar.name(),
                                bt.scalar.name()
                            ),
                        )
                        .with_primary_label("different types")
                        .with_help("convert one side so both have the same type");
                    self.report(d);
                }
                let op = match op {
                    ast::CompareOp::Eq => CompareOp::Eq,
                    ast::CompareOp::Ne => CompareOp::Ne,
                };
                self.push(Node::Compare { op, a, b })
            }
            ast::CondKind::Exists(p) => match self.source(p) {
                Some((source, _)) => {
                    let a = self.push(Node::Source { source });
                    self.push(Node::Exists { a })
                }
                None => self.poison(),
            },
            ast::CondKind::And(a, b) => {
                let a = self.cond(a, depth + 1);
                let b = self.cond(b, depth + 1);
                self.push(Node::And { a, b })
            }
            ast::CondKind::Or(a, b) => {
                let a = self.cond(a, depth + 1);
                let b = self.cond(b, depth + 1);
                self.push(Node::Or { a, b })
            }
        }
    }
}

/// The type of an `if` or `??` from its two branches.
fn join_types(scalar: ScalarType, a: &Ty, b: &Ty, optional: bool) -> Ty {
    let values = match (&a.values, &b.values) {
        (Some(x), Some(y)) => Some(x.iter().chain(y).cloned().collect()),
        _ => None,
    };
    let max_len = match (a.max_len, b.max_len) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    };
    Ty {
        scalar,
        optional,
        fallible: a.fallible || b.fallible,
        max_len,
        values,
    }
}

fn common_scalar(types: &[ScalarType]) -> Option<ScalarType> {
    let first = *types.first()?;
    types.iter().all(|t| *t == first).then_some(first)
}

fn plain_string(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Str(s) => s.as_plain(),
        ExprKind::Paren(inner) => plain_string(inner),
        _ => None,
    }
}

fn literal_count(e: &ast::Expr) -> Option<u32> {
    match &e.kind {
        ExprKind::Number(n) => n.parse::<u32>().ok(),
        ExprKind::Paren(inner) => literal_count(inner),
        _ => None,
    }
}
