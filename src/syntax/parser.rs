//! The pest-based parser and the visitor that builds the typed tree.
//!
//! [`parse`] never fails. The file is first cut into item regions ([`scan`]); each region is
//! parsed on its own with the grammar's `region` rule, so a broken item costs one E0001 (or one
//! E0002 for an unterminated string) and the items around it are still read. pest's report of
//! what it expected is turned into words in [`expected`]. No pest type leaves this module.

mod expected;
mod scan;
mod strings;

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::{
    self, CompareOp, Cond, CondKind, Expr, ExprKind, Item, Literal, LiteralKind, Mapping, Name,
    Path, Root, StrLit, StrPart, Target, TemplateKind, TypeName, UdfKey, UdfKeyKind,
};
use crate::diagnostics::{Code, Diagnostic, FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/amap.pest"]
struct AmapParser;

/// Parses one file. Never fails: broken items are reported and kept as `Item::Error`.
pub fn parse(text: &str, file: FileId) -> (ast::File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut items = Vec::new();
    for region in scan::regions(text) {
        if region.first.is_none() {
            // Only white space and comments.
            continue;
        }
        if let Some(failure) = &region.failure {
            let (start, end) = region.error_range(text);
            let diag = scan_failure(failure, file);
            let span = Span::from_range(start..end).to(diag.primary.span);
            diags.push(diag);
            items.push(Item::Error(span));
            continue;
        }
        let slice = &text[region.start..region.end];
        match AmapParser::parse(Rule::region, slice) {
            Ok(pairs) => {
                let mut reader = Reader {
                    file,
                    base: region.start as u32,
                    fixed: None,
                    diags: &mut diags,
                };
                let item = pairs
                    .flatten()
                    .find(|p| p.as_rule() == Rule::item)
                    .and_then(|p| reader.item(p));
                match item {
                    Some(item) => items.push(item),
                    None => {
                        let (start, end) = region.error_range(text);
                        let span = Span::from_range(start..end);
                        diags.push(Diagnostic::new(
                            Code::E0001,
                            file,
                            span,
                            "this item could not be read",
                        ));
                        items.push(Item::Error(span));
                    }
                }
            }
            Err(error) => {
                let diag = expected::describe(text, &region, &error, file);
                let (start, end) = region.error_range(text);
                let span = Span::from_range(start..end).to(diag.primary.span);
                diags.push(diag);
                items.push(Item::Error(span));
            }
        }
    }
    (ast::File { items }, diags)
}

fn scan_failure(failure: &scan::Failure, file: FileId) -> Diagnostic {
    match *failure {
        scan::Failure::Unterminated { start, end, raw } => Diagnostic::new(
            Code::E0002,
            file,
            Span::from_range(start..end),
            "unterminated string: the closing `\"` is missing",
        )
        .with_primary_label("this string runs to the end of the line")
        .with_help(if raw {
            "a string ends on the line it starts on; a raw string `r\"…\"` cannot contain `\"`"
        } else {
            "a string ends on the line it starts on: add the closing `\"`, and write `\\n` for a line break or `\\\"` for a quote"
        }),
        scan::Failure::TooDeep { start, end } => Diagnostic::new(
            Code::E0001,
            file,
            Span::from_range(start..end),
            "expression nested too deeply",
        )
        .with_primary_label(format!(
            "more than {} levels of parentheses and operators",
            scan::MAX_NESTING
        ))
        .with_help("split the expression, or simplify it"),
    }
}

/// Turns the pairs of one region into the typed tree, reporting bad strings as it goes.
struct Reader<'d> {
    file: FileId,
    /// Where the parsed text starts in the file.
    base: u32,
    /// When set, every span is this one (a path read from a placeholder whose text was
    /// unescaped, so positions in it do not match the file).
    fixed: Option<Span>,
    diags: &'d mut Vec<Diagnostic>,
}

/// Where a string literal is used, for the E0002 about a placeholder where none is allowed.
#[derive(Clone, Copy)]
enum StrUse {
    TemplateName,
    UdfKey,
    Segment,
    TableEntry,
}

impl StrUse {
    fn words(self) -> &'static str {
        match self {
            StrUse::TemplateName => "a template name",
            StrUse::UdfKey => "a UDF key",
            StrUse::Segment => "a bracketed path segment",
            StrUse::TableEntry => "a table entry",
        }
    }
}

impl Reader<'_> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        if let Some(s) = self.fixed {
            return s;
        }
        let s = pair.as_span();
        Span::new(self.base + s.start() as u32, self.base + s.end() as u32)
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let mut doc: Option<String> = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::doc => {
                    let line = p
                        .into_inner()
                        .next()
                        .map(|t| t.as_str())
                        .unwrap_or_default();
                    let line = line.strip_prefix(' ').unwrap_or(line).trim_end();
                    match &mut doc {
                        Some(d) => {
                            d.push('\n');
                            d.push_str(line);
                        }
                        None => doc = Some(line.to_string()),
                    }
                }
                Rule::template => return self.template(p, doc).map(Item::Template),
                Rule::table => return self.table(p, doc).map(Item::Table),
                _ => {}
            }
        }
        None
    }

    fn template(&mut self, pair: Pair<'_, Rule>, doc: Option<String>) -> Option<ast::Template> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let kind_pair = inner.next()?;
        let kind = if kind_pair.as_str() == "create" {
            TemplateKind::Create
        } else {
            TemplateKind::Incoming
        };
        let kind_span = self.span(&kind_pair);
        let name_pair = inner.next()?.into_inner().next()?;
        let name = self.plain_string(name_pair, StrUse::TemplateName);
        let for_clause = inner.next()?;
        let ref_path = for_clause
            .into_inner()
            .find(|p| p.as_rule() == Rule::ref_path)?;
        let reference_span = self.span(&ref_path);
        let segment = ref_path.into_inner().nth(1)?;
        let reference = self.segment(segment)?;
        let mut mappings = Vec::new();
        for p in inner {
            if p.as_rule() == Rule::mapping {
                mappings.push(self.mapping(p)?);
            }
        }
        Some(ast::Template {
            doc,
            kind,
            kind_span,
            name,
            reference,
            reference_span,
            mappings,
            span,
        })
    }

    fn mapping(&mut self, pair: Pair<'_, Rule>) -> Option<Mapping> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let target_pair = inner.next()?;
        let target = match target_pair.as_rule() {
            Rule::udf_key => Target::Udf(self.udf_key(target_pair)?),
            _ => Target::Path(self.path(target_pair)?),
        };
        let value = self.expr(inner.find(|p| p.as_rule() == Rule::expr)?)?;
        // The pair may end after white space that pest skipped looking for a `!` or `??`.
        let span = Span::new(span.start, value.span.end);
        Some(Mapping {
            target,
            value,
            span,
        })
    }

    fn table(&mut self, pair: Pair<'_, Rule>, doc: Option<String>) -> Option<ast::Table> {
        let span = self.span(&pair);
        let mut name = None;
        let mut types = Vec::with_capacity(2);
        let mut entries = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::table_name => name = Some(Name::new(p.as_str().to_string(), self.span(&p))),
                Rule::type_name => {
                    let tspan = self.span(&p);
                    let mut name = String::new();
                    let mut optional = false;
                    for t in p.into_inner() {
                        match t.as_rule() {
                            Rule::type_ident => name = t.as_str().to_string(),
                            Rule::question => optional = true,
                            _ => {}
                        }
                    }
                    types.push(TypeName {
                        name,
                        optional,
                        span: tspan,
                    });
                }
                Rule::entry => {
                    let espan = self.span(&p);
                    let mut lits = p.into_inner().filter(|l| l.as_rule() == Rule::literal);
                    let key = self.literal(lits.next()?)?;
                    let value = self.literal(lits.next()?)?;
                    entries.push(ast::TableEntry {
                        key,
                        value,
                        span: espan,
                    });
                }
                _ => {}
            }
        }
        let mut types = types.into_iter();
        Some(ast::Table {
            doc,
            name: name?,
            key_type: types.next()?,
            value_type: types.next()?,
            entries,
            span,
        })
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Option<Literal> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::string | Rule::raw_string => {
                LiteralKind::Str(self.plain_string(inner, StrUse::TableEntry).value)
            }
            Rule::number => LiteralKind::Number(inner.as_str().to_string()),
            _ => LiteralKind::Bool(inner.as_str() == "true"),
        };
        Some(Literal { kind, span })
    }

    // ------------------------------------------------------------------------------------------
    // Expressions

    /// An `expr` or `p_expr`: operands (`not`s, a primary, an optional `!`) joined by `??`.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let mut inner = pair.into_inner();
        let mut acc = self.operand(&mut inner)?;
        while let Some(p) = inner.next() {
            if p.as_rule() == Rule::coalesce_op {
                let rhs = self.operand(&mut inner)?;
                acc = Expr {
                    span: acc.span.to(rhs.span),
                    kind: ExprKind::Coalesce(Box::new(acc), Box::new(rhs)),
                };
            }
        }
        Some(acc)
    }

    /// One operand of an expression: `not`* primary `!`?, taken from the expression's pairs.
    fn operand(&mut self, inner: &mut Pairs<'_, Rule>) -> Option<Expr> {
        let mut nots = Vec::new();
        let mut e = loop {
            let p = inner.next()?;
            match p.as_rule() {
                Rule::not_op => nots.push(self.span(&p)),
                _ => break self.primary(p)?,
            }
        };
        if inner.peek().is_some_and(|p| p.as_rule() == Rule::bang) {
            let bang = inner.next()?;
            e = Expr {
                span: e.span.to(self.span(&bang)),
                kind: ExprKind::Require(Box::new(e)),
            };
        }
        while let Some(not) = nots.pop() {
            e = Expr {
                span: not.to(e.span),
                kind: ExprKind::Not(Box::new(e)),
            };
        }
        Some(e)
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ExprKind::Str(self.interpolated(pair)),
            Rule::raw_string => ExprKind::Str(StrLit {
                raw: true,
                parts: match raw_body(&pair) {
                    "" => Vec::new(),
                    body => vec![StrPart::Text(body.to_string())],
                },
            }),
            Rule::number => ExprKind::Number(pair.as_str().to_string()),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::udf_key => ExprKind::Udf(self.udf_key(pair)?),
            Rule::path => ExprKind::Path(self.path(pair)?),
            Rule::name => ExprKind::Name(Name::new(pair.as_str().to_string(), span)),
            Rule::paren => {
                let inner = pair.into_inner().find(|p| p.as_rule() == Rule::p_expr)?;
                ExprKind::Paren(Box::new(self.expr(inner)?))
            }
            Rule::call => {
                let mut name = None;
                let mut args = Vec::new();
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::fn_name => {
                            name = Some(Name::new(p.as_str().to_string(), self.span(&p)))
                        }
                        Rule::p_expr => args.push(self.expr(p)?),
                        _ => {}
                    }
                }
                ExprKind::Call { name: name?, args }
            }
            Rule::if_expr | Rule::p_if_expr => {
                let mut cond = None;
                let mut branches = Vec::with_capacity(2);
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::cond | Rule::p_cond => cond = Some(self.cond(p)?),
                        Rule::expr | Rule::p_expr => branches.push(self.expr(p)?),
                        _ => {}
                    }
                }
                let mut branches = branches.into_iter();
                ExprKind::If {
                    cond: Box::new(cond?),
                    then: Box::new(branches.next()?),
                    otherwise: Box::new(branches.next()?),
                }
            }
            _ => return None,
        };
        Some(Expr { kind, span })
    }

    fn cond(&mut self, pair: Pair<'_, Rule>) -> Option<Cond> {
        let rule = pair.as_rule();
        let mut acc: Option<Cond> = None;
        for p in pair.into_inner() {
            let next = match p.as_rule() {
                Rule::cond_and | Rule::p_cond_and => self.cond(p)?,
                Rule::exists_cond => {
                    let span = self.span(&p);
                    let path = p.into_inner().find(|x| x.as_rule() == Rule::path)?;
                    Cond {
                        kind: CondKind::Exists(self.path(path)?),
                        span,
                    }
                }
                Rule::compare | Rule::p_compare => self.compare(p)?,
                _ => continue,
            };
            acc = Some(match acc {
                None => next,
                Some(lhs) => {
                    let span = lhs.span.to(next.span);
                    let (l, r) = (Box::new(lhs), Box::new(next));
                    let kind = if matches!(rule, Rule::cond | Rule::p_cond) {
                        CondKind::Or(l, r)
                    } else {
                        CondKind::And(l, r)
                    };
                    Cond { kind, span }
                }
            });
        }
        acc
    }

    fn compare(&mut self, pair: Pair<'_, Rule>) -> Option<Cond> {
        let span = self.span(&pair);
        let mut lhs = None;
        let mut op = None;
        let mut rhs = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::cmp_op => {
                    op = Some(if p.as_str() == "==" {
                        CompareOp::Eq
                    } else {
                        CompareOp::Ne
                    })
                }
                _ if lhs.is_none() => lhs = Some(self.expr(p)?),
                _ => rhs = Some(self.expr(p)?),
            }
        }
        let lhs = lhs?;
        let kind = match (op, rhs) {
            (Some(op), Some(rhs)) => CondKind::Compare { op, lhs, rhs },
            _ => CondKind::Expr(lhs),
        };
        Some(Cond { kind, span })
    }

    fn udf_key(&mut self, pair: Pair<'_, Rule>) -> Option<UdfKey> {
        let span = self.span(&pair);
        let arg = pair
            .into_inner()
            .find(|p| p.as_rule() == Rule::udf_key_arg)?
            .into_inner()
            .next()?;
        let kind = match arg.as_rule() {
            Rule::path => UdfKeyKind::Dynamic(self.path(arg)?),
            _ => UdfKeyKind::Static(self.plain_string(arg, StrUse::UdfKey)),
        };
        Some(UdfKey { kind, span })
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Option<Path> {
        let span = self.span(&pair);
        // The root keyword is not a pair of its own: it is the text up to the first segment.
        let text = pair.as_str();
        let root_len = text.find(['.', '[']).unwrap_or(text.len());
        let root = Root::from_keyword(&text[..root_len])?;
        let root_span = match self.fixed {
            Some(fixed) => fixed,
            None => Span::new(span.start, span.start + root_len as u32),
        };
        let mut segments = Vec::new();
        for seg in pair.into_inner() {
            segments.push(self.segment(seg)?);
        }
        Some(Path {
            root,
            root_span,
            segments,
            span,
        })
    }

    /// A `segment_name` (what follows a `.`) or a `bracket_segment`.
    fn segment(&mut self, pair: Pair<'_, Rule>) -> Option<Name> {
        match pair.as_rule() {
            Rule::segment_name => Some(Name::new(pair.as_str().to_string(), self.span(&pair))),
            _ => {
                let s = pair.into_inner().next()?;
                Some(self.plain_string(s, StrUse::Segment))
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Strings

    /// A string or raw string where no placeholder is allowed; its value and span.
    fn plain_string(&mut self, pair: Pair<'_, Rule>, used: StrUse) -> Name {
        let span = self.span(&pair);
        if pair.as_rule() == Rule::raw_string {
            return Name::new(raw_body(&pair).to_string(), span);
        }
        let (body, rel) = string_body(&pair);
        let body_start = self.base + rel;
        let (pieces, problems) = strings::read(body);
        self.string_problems(body_start, problems);
        let mut value = String::with_capacity(body.len());
        for piece in pieces {
            match piece {
                strings::Piece::Text(t) => value.push_str(&t),
                strings::Piece::Placeholder { open, close, .. } => {
                    let pspan = self.body_span(body_start, open, close);
                    self.diags.push(
                        Diagnostic::new(
                            Code::E0002,
                            self.file,
                            pspan,
                            format!("a `{{…}}` placeholder cannot be used in {}", used.words()),
                        )
                        .with_primary_label("only strings in mappings interpolate")
                        .with_help("write `\\{` and `\\}` for braces that are part of the text"),
                    );
                    value.push_str(&body[open..close]);
                }
            }
        }
        Name::new(value, span)
    }

    /// A `"…"` string in an expression: unescaped and split at its placeholders.
    fn interpolated(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let (body, rel) = string_body(&pair);
        let body_start = self.base + rel;
        let (pieces, problems) = strings::read(body);
        self.string_problems(body_start, problems);
        let mut parts = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match piece {
                strings::Piece::Text(t) => parts.push(StrPart::Text(t)),
                strings::Piece::Placeholder {
                    content,
                    content_start,
                    exact,
                    open,
                    close,
                } => {
                    let pspan = self.body_span(body_start, open, close);
                    match AmapParser::parse(Rule::path_only, &content) {
                        Ok(pairs) => {
                            let saved = (self.base, self.fixed);
                            if exact && self.fixed.is_none() {
                                self.base = body_start + content_start as u32;
                            } else {
                                self.fixed = Some(pspan);
                            }
                            let path = pairs
                                .flatten()
                                .find(|p| p.as_rule() == Rule::path)
                                .and_then(|p| self.path(p));
                            (self.base, self.fixed) = saved;
                            match path {
                                Some(path) => parts.push(StrPart::Interp(path)),
                                None => parts.push(StrPart::Text(body[open..close].to_string())),
                            }
                        }
                        Err(_) => {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::E0002,
                                    self.file,
                                    pspan,
                                    format!(
                                        "`{}` is not a path: only a source path can be interpolated",
                                        clip(&body[open..close], 40)
                                    ),
                                )
                                .with_primary_label("expected a path such as `{field.summary}`")
                                .with_help(
                                    "compute the value in the mapping instead (for example with `join`), or write `\\{` for a literal brace",
                                ),
                            );
                            parts.push(StrPart::Text(body[open..close].to_string()));
                        }
                    }
                }
            }
        }
        StrLit { raw: false, parts }
    }

    fn string_problems(&mut self, body_start: u32, problems: Vec<strings::Problem>) {
        for p in problems {
            let span = self.body_span(body_start, p.start, p.end);
            self.diags
                .push(Diagnostic::new(Code::E0002, self.file, span, p.message).with_help(p.help));
        }
    }

    fn body_span(&self, body_start: u32, start: usize, end: usize) -> Span {
        self.fixed.unwrap_or(Span::new(
            body_start + start as u32,
            body_start + end as u32,
        ))
    }
}

/// The body of a `string` pair and where it starts in the parsed text.
fn string_body<'i>(pair: &Pair<'i, Rule>) -> (&'i str, u32) {
    let s = pair.as_str();
    let body = s
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .unwrap_or_default();
    (body, pair.as_span().start() as u32 + 1)
}

fn raw_body<'i>(pair: &Pair<'i, Rule>) -> &'i str {
    pair.as_str()
        .strip_prefix("r\"")
        .and_then(|b| b.strip_suffix('"'))
        .unwrap_or_default()
}

/// At most `max` characters of `s`, with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
