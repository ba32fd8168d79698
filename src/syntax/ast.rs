//! The typed syntax tree of a `.amap` file. Every node carries its span; nothing here refers
//! to pest. Broken regions of a file are kept as [`Item::Error`] so that later phases can
//! skip them while still checking the rest.

use crate::diagnostics::Span;

/// A name or string with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

pub type Name = Spanned<String>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Template(Template),
    Table(Table),
    /// A region that did not parse; its E0001 has been reported.
    Error(Span),
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TemplateKind {
    Create,
    Incoming,
}

impl TemplateKind {
    pub fn keyword(self) -> &'static str {
        match self {
            TemplateKind::Create => "create",
            TemplateKind::Incoming => "incoming",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The `///` doc comment lines, without the slashes, joined by `\n`.
    pub doc: Option<String>,
    pub kind: TemplateKind,
    pub kind_span: Span,
    pub name: Name,
    /// `ref.NAME` after `for`: the reference's name and the span of the whole path.
    pub reference: Name,
    pub reference_span: Span,
    pub mappings: Vec<Mapping>,
    /// From the keyword to the closing brace.
    pub span: Span,
}

impl Template {
    /// The header: keyword, name and reference (where "missing field" diagnostics point).
    pub fn header_span(&self) -> Span {
        self.kind_span.to(self.reference_span)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    pub target: Target,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Path(Path),
    Udf(UdfKey),
}

impl Target {
    pub fn span(&self) -> Span {
        match self {
            Target::Path(p) => p.span,
            Target::Udf(k) => k.span,
        }
    }
}

/// `udf "CODE"` or `udf field.service_udf`.
#[derive(Clone, Debug, PartialEq)]
pub struct UdfKey {
    pub kind: UdfKeyKind,
    /// From `udf` to the end of the key.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UdfKeyKind {
    Static(Name),
    Dynamic(Path),
}

/// The namespace a path starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    Case,
    Field,
    Date,
    Person,
    Address,
    Ref,
    Aurora,
    Contact,
}

impl Root {
    pub const ALL: [Root; 8] = [
        Root::Case,
        Root::Field,
        Root::Date,
        Root::Person,
        Root::Address,
        Root::Ref,
        Root::Aurora,
        Root::Contact,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            Root::Case => "case",
            Root::Field => "field",
            Root::Date => "date",
            Root::Person => "person",
            Root::Address => "address",
            Root::Ref => "ref",
            Root::Aurora => "aurora",
            Root::Contact => "contact",
        }
    }

    pub fn from_keyword(word: &str) -> Option<Root> {
        Root::ALL.into_iter().find(|r| r.keyword() == word)
    }
}

/// `root.seg.seg` or `root["odd name"]`: at least one segment after the root.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub root: Root,
    pub root_span: Span,
    pub segments: Vec<Name>,
    pub span: Span,
}

impl Path {
    /// The segments joined with `.` (`Message.CaseNumber`).
    pub fn dotted(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&seg.value);
        }
        s
    }

    /// The path as written canonically (`field.summary`, `field["odd-name"]`).
    pub fn display(&self) -> String {
        let mut s = self.root.keyword().to_string();
        for seg in &self.segments {
            if is_identifier(&seg.value) {
                s.push('.');
                s.push_str(&seg.value);
            } else {
                s.push_str("[\"");
                s.push_str(&seg.value.replace('\\', "\\\\").replace('"', "\\\""));
                s.push_str("\"]");
            }
        }
        s
    }
}

/// Whether a name can be written after a `.` without quoting.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Str(StrLit),
    /// The number as written (decimal digits, optional sign and fraction).
    Number(String),
    Bool(bool),
    Path(Path),
    /// A bare identifier: a table name, as in `lookup(field.hazard, hazard_codes)`.
    Name(Name),
    Udf(UdfKey),
    Call {
        name: Name,
        args: Vec<Expr>,
    },
    If {
        cond: Box<Cond>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `a ?? b`
    Coalesce(Box<Expr>, Box<Expr>),
    /// `a!`
    Require(Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `( a )`
    Paren(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub kind: CondKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CondKind {
    /// A plain expression used as a condition (must be `bool`).
    Expr(Expr),
    Compare {
        op: CompareOp,
        lhs: Expr,
        rhs: Expr,
    },
    Exists(Path),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

/// A string literal, already unescaped and split at `{path}` placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub raw: bool,
    pub parts: Vec<StrPart>,
}

impl StrLit {
    /// The text if the literal has no placeholders.
    pub fn as_plain(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                StrPart::Text(t) => s.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Path),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub doc: Option<String>,
    pub name: Name,
    pub key_type: TypeName,
    pub value_type: TypeName,
    pub entries: Vec<TableEntry>,
    pub span: Span,
}

/// A scalar type written in source (`text`, `integer?`).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeName {
    pub name: String,
    pub optional: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableEntry {
    pub key: Literal,
    pub value: Literal,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LiteralKind {
    Str(String),
    Number(String),
    Bool(bool),
}

impl LiteralKind {
    pub fn display(&self) -> String {
        match self {
            LiteralKind::Str(s) => format!("{s:?}"),
            LiteralKind::Number(n) => n.clone(),
            LiteralKind::Bool(b) => b.to_string(),
        }
    }
}
