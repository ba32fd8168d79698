//! The formatter: one canonical layout for `.amap` files.
//!
//! Items are separated by one blank line; bodies are indented by four spaces; the `=` of
//! consecutive mappings (and the `=>` of table entries) line up, an alignment block ending at a
//! blank line or a comment line; operators get single spaces; the file ends with one newline.
//! Comments are not in the syntax tree, so they are recovered from the text between the spans of
//! the nodes around them and put back where they were (on their own line, or at the end of a line).
//!
//! The formatter never changes meaning: it re-parses its own output and refuses (with
//! [`FormatError::Unstable`]) when the tree differs from the original in anything but spans. A file
//! with syntax errors is not formatted at all.

use crate::diagnostics::{Diagnostic, FileId, Span};
use crate::syntax::ast::{self, Cond, CondKind, Expr, ExprKind, Item, Path, UdfKey, UdfKeyKind};

/// Why a file was left as it was.
#[derive(Clone, Debug, PartialEq)]
pub enum FormatError {
    /// The file does not parse; these are its syntax errors.
    Syntax(Vec<Diagnostic>),
    /// Formatting would change the meaning of the file (a bug in the formatter); the text is
    /// left untouched and the reason says where.
    Unstable(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(f, "the file has {} syntax error(s)", d.len()),
            FormatError::Unstable(why) => write!(f, "formatting would change the file: {why}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// Formats a file's text, reporting syntax errors against `FileId(0)`.
pub fn format(text: &str) -> Result<String, FormatError> {
    format_file(text, FileId(0))
}

/// Formats a file's text; syntax errors are reported against `file`.
pub fn format_file(text: &str, file: FileId) -> Result<String, FormatError> {
    let (tree, diags) = crate::syntax::parse(text, file);
    if diags.iter().any(Diagnostic::is_error)
        || tree.items.iter().any(|i| matches!(i, Item::Error(_)))
    {
        return Err(FormatError::Syntax(
            diags.into_iter().filter(Diagnostic::is_error).collect(),
        ));
    }
    let out = Printer::new(text).file(&tree)?;
    let (again, diags) = crate::syntax::parse(&out, file);
    if diags.iter().any(Diagnostic::is_error) {
        let first = diags.first().map(|d| d.message.clone()).unwrap_or_default();
        return Err(FormatError::Unstable(format!(
            "the output does not parse: {first}"
        )));
    }
    if without_spans(&again) != without_spans(&tree) {
        return Err(FormatError::Unstable(
            "the output parses to a different tree".to_string(),
        ));
    }
    Ok(out)
}

/// Whether the text is already in canonical form.
pub fn is_formatted(text: &str) -> Result<bool, FormatError> {
    format(text).map(|out| out == text)
}

/// A piece of trivia between two nodes.
#[derive(Clone, Debug, PartialEq)]
enum Trivia {
    /// A comment on the same line as the node before it.
    Trailing(String),
    /// A comment on a line of its own.
    Comment(String),
    /// One or more blank lines.
    Blank,
}

/// Reads the trivia of `text[range]`: white space, comments, and the separators `;` and `,`.
/// Anything else means the range was not trivia after all.
fn trivia(text: &str, range: std::ops::Range<usize>) -> Result<Vec<Trivia>, FormatError> {
    let gap = text.get(range.clone()).unwrap_or_default();
    let mut out = Vec::new();
    // Whether a newline has been seen since the node before the gap.
    let mut own_line = false;
    let mut newlines_in_row = 0usize;
    let mut rest = gap;
    while let Some(c) = rest.chars().next() {
        if c == '\n' {
            newlines_in_row += 1;
            if newlines_in_row == 2 && own_line {
                out.push(Trivia::Blank);
            }
            own_line = true;
            rest = &rest[1..];
        } else if c.is_whitespace() || c == '\u{FEFF}' || c == ';' || c == ',' {
            rest = &rest[c.len_utf8()..];
        } else if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            let comment = rest[..end].trim_end().to_string();
            if own_line {
                out.push(Trivia::Comment(comment));
            } else {
                out.push(Trivia::Trailing(comment));
            }
            newlines_in_row = 0;
            rest = &rest[end..];
        } else {
            return Err(FormatError::Unstable(format!(
                "unexpected `{c}` between nodes at byte {}",
                range.start + (gap.len() - rest.len())
            )));
        }
        if c != '\n' && !c.is_whitespace() && c != '\u{FEFF}' {
            newlines_in_row = 0;
        }
    }
    Ok(out)
}

/// Whether a node's span holds a comment (outside string literals).
fn inner_comments(text: &str, span: Span) -> bool {
    scan(text, span).1
}

/// The end of a node's code: its span without trailing white space and comments (a parser may
/// count an end-of-line comment into the node before it).
fn code_end(text: &str, span: Span) -> u32 {
    scan(text, span).0
}

/// Scans a span, skipping string literals: the end of its last code byte, and whether it holds
/// a comment before that end.
fn scan(text: &str, span: Span) -> (u32, bool) {
    let s = text.get(span.range()).unwrap_or_default();
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut last = 0;
    let mut comment_at = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let raw = i > 0 && bytes[i - 1] == b'r';
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' && !raw {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                last = i.min(bytes.len());
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                comment_at.get_or_insert(i);
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                i += 1;
                last = i;
            }
        }
    }
    let inner = comment_at.is_some_and(|c| c < last);
    (span.start + last as u32, inner)
}

/// A line of a block body before alignment.
enum Line {
    /// `left op right`, aligned on `op` with its neighbours; `trailing` is an end-of-line comment.
    Pair {
        left: String,
        right: String,
        trailing: Option<String>,
    },
    Comment(String),
    Blank,
}

struct Printer<'t> {
    text: &'t str,
    out: String,
}

impl<'t> Printer<'t> {
    fn new(text: &'t str) -> Self {
        Printer {
            text,
            out: String::with_capacity(text.len() + text.len() / 8),
        }
    }

    fn src(&self, span: Span) -> &'t str {
        self.text.get(span.range()).unwrap_or_default()
    }

    fn file(mut self, file: &ast::File) -> Result<String, FormatError> {
        let mut prev_end = 0usize;
        for (i, item) in file.items.iter().enumerate() {
            let start = item_start(self.text, item);
            let gap = trivia(self.text, prev_end..start)?;
            let mut pieces = gap.into_iter().peekable();
            if i > 0 {
                if let Some(Trivia::Trailing(c)) = pieces.peek() {
                    self.trailing(c);
                    pieces.next();
                }
                self.out.push('\n');
            }
            let mut at_start = true;
            for piece in pieces {
                match piece {
                    Trivia::Trailing(c) | Trivia::Comment(c) => {
                        self.out.push_str(&c);
                        self.out.push('\n');
                        at_start = false;
                    }
                    Trivia::Blank if !at_start => self.out.push('\n'),
                    Trivia::Blank => {}
                }
            }
            match item {
                Item::Template(t) => self.template(t)?,
                Item::Table(t) => self.table(t)?,
                Item::Error(span) => {
                    return Err(FormatError::Unstable(format!(
                        "an unparsed region at byte {}",
                        span.start
                    )));
                }
            }
            prev_end = item_span(item).end as usize;
        }
        let tail = trivia(self.text, prev_end..self.text.len())?;
        let mut pieces = tail.into_iter().peekable();
        if let Some(Trivia::Trailing(c)) = pieces.peek() {
            self.trailing(c);
            pieces.next();
        }
        let mut pending_blank = false;
        for piece in pieces {
            match piece {
                Trivia::Trailing(c) | Trivia::Comment(c) => {
                    if pending_blank {
                        self.out.push('\n');
                    }
                    pending_blank = false;
                    self.out.push_str(&c);
                    self.out.push('\n');
                }
                Trivia::Blank => pending_blank = !self.out.is_empty(),
            }
        }
        Ok(self.out)
    }

    /// Refuses a region that holds a comment the layout has no place for.
    fn no_comments(&self, span: Span, what: &str) -> Result<(), FormatError> {
        if inner_comments(self.text, span) {
            return Err(FormatError::Unstable(format!(
                "a comment inside {what} at byte {}",
                span.start
            )));
        }
        Ok(())
    }

    /// Appends an end-of-line comment to the line just written.
    fn trailing(&mut self, comment: &str) {
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out.push(' ');
        self.out.push_str(comment);
        self.out.push('\n');
    }

    fn template(&mut self, t: &ast::Template) -> Result<(), FormatError> {
        let open = find_open_brace(
            self.text,
            t.reference_span.end as usize,
            t.span.end as usize,
        )?;
        self.no_comments(
            Span::new(t.kind_span.start, open as u32),
            "a template header",
        )?;
        self.out.push_str(t.kind.keyword());
        self.out.push(' ');
        self.out
            .push_str(&string_source(self.src(t.name.span), &t.name.value));
        self.out.push_str(" for ");
        self.out.push_str(&compact(self.src(t.reference_span)));
        self.out.push_str(" {");
        let mut units = Vec::with_capacity(t.mappings.len());
        for m in &t.mappings {
            let left = self.target(&m.target);
            let value = Span::new(m.value.span.start, code_end(self.text, m.value.span));
            let span = Span::new(m.target.span().start, value.end);
            if inner_comments(self.text, span) && !inner_comments(self.text, value) {
                return Err(FormatError::Unstable(format!(
                    "a comment inside the mapping at byte {}",
                    span.start
                )));
            }
            let right = if inner_comments(self.text, value) {
                reindent(self.src(value))
            } else {
                self.expr(&m.value)
            };
            units.push((span, left, right));
        }
        self.body(open, t.span.end as usize, units, "=")
    }

    fn table(&mut self, t: &ast::Table) -> Result<(), FormatError> {
        let open = find_open_brace(
            self.text,
            t.value_type.span.end as usize,
            t.span.end as usize,
        )?;
        let start = skip_trivia(self.text, t.span.start as usize);
        self.no_comments(Span::new(start as u32, open as u32), "a table header")?;
        for e in &t.entries {
            self.no_comments(entry_span(self.text, e), "a table entry")?;
        }
        self.out.push_str("table ");
        self.out.push_str(&t.name.value);
        self.out.push_str(": ");
        self.out.push_str(&type_name(&t.key_type));
        self.out.push_str(" -> ");
        self.out.push_str(&type_name(&t.value_type));
        self.out.push_str(" {");
        let units = t
            .entries
            .iter()
            .map(|e| {
                (
                    entry_span(self.text, e),
                    literal(self.src(e.key.span), &e.key.kind),
                    literal(self.src(e.value.span), &e.value.kind),
                )
            })
            .collect();
        self.body(open, t.span.end as usize, units, "=>")
    }

    /// Writes a `{ … }` body whose opening brace is at `open` and whose item ends at `end`
    /// (just after the closing brace). Each unit is `(span, left, right)`.
    fn body(
        &mut self,
        open: usize,
        end: usize,
        units: Vec<(Span, String, String)>,
        op: &str,
    ) -> Result<(), FormatError> {
        let close = end.saturating_sub(1);
        if self.text.as_bytes().get(close) != Some(&b'}') {
            return Err(FormatError::Unstable(format!(
                "no closing brace at byte {close}"
            )));
        }
        let mut lines: Vec<Line> = Vec::new();
        let mut header_trailing = None;
        let mut prev = open + 1;
        let count = units.len();
        for (k, (span, left, right)) in units.into_iter().enumerate() {
            let gap = trivia(self.text, prev..span.start as usize)?;
            self.absorb(gap, &mut lines, &mut header_trailing, k == 0);
            lines.push(Line::Pair {
                left,
                right,
                trailing: None,
            });
            prev = span.end as usize;
        }
        let gap = trivia(self.text, prev..close)?;
        self.absorb(gap, &mut lines, &mut header_trailing, count == 0);
        while matches!(lines.last(), Some(Line::Blank)) {
            lines.pop();
        }
        if let Some(c) = header_trailing {
            self.out.push(' ');
            self.out.push_str(&c);
        }
        self.out.push('\n');
        self.aligned(&lines, op);
        self.out.push('}');
        self.out.push('\n');
        Ok(())
    }

    /// Adds the trivia of a gap inside a body to its lines.
    fn absorb(
        &self,
        gap: Vec<Trivia>,
        lines: &mut Vec<Line>,
        header_trailing: &mut Option<String>,
        first: bool,
    ) {
        for piece in gap {
            match piece {
                Trivia::Trailing(c) => match lines.last_mut() {
                    Some(Line::Pair { trailing, .. }) if trailing.is_none() => *trailing = Some(c),
                    None if first && header_trailing.is_none() => *header_trailing = Some(c),
                    _ => lines.push(Line::Comment(c)),
                },
                Trivia::Comment(c) => lines.push(Line::Comment(c)),
                Trivia::Blank => {
                    if !lines.is_empty() && !matches!(lines.last(), Some(Line::Blank)) {
                        lines.push(Line::Blank);
                    }
                }
            }
        }
    }

    /// Writes body lines, aligning `op` within each run of consecutive pairs.
    fn aligned(&mut self, lines: &[Line], op: &str) {
        let mut i = 0;
        while i < lines.len() {
            match &lines[i] {
                Line::Blank => {
                    self.out.push('\n');
                    i += 1;
                }
                Line::Comment(c) => {
                    self.out.push_str("    ");
                    self.out.push_str(c);
                    self.out.push('\n');
                    i += 1;
                }
                Line::Pair { .. } => {
                    let run_end = lines[i..]
                        .iter()
                        .position(|l| !matches!(l, Line::Pair { .. }))
                        .map_or(lines.len(), |p| i + p);
                    let width = lines[i..run_end]
                        .iter()
                        .map(|l| match l {
                            Line::Pair { left, .. } => left.chars().count(),
                            _ => 0,
                        })
                        .max()
                        .unwrap_or(0);
                    for line in &lines[i..run_end] {
                        if let Line::Pair {
                            left,
                            right,
                            trailing,
                        } = line
                        {
                            self.out.push_str("    ");
                            self.out.push_str(left);
                            for _ in left.chars().count()..width {
                                self.out.push(' ');
                            }
                            self.out.push(' ');
                            self.out.push_str(op);
                            self.out.push(' ');
                            self.out.push_str(right);
                            if let Some(c) = trailing {
                                self.out.push(' ');
                                self.out.push_str(c);
                            }
                            self.out.push('\n');
                        }
                    }
                    i = run_end;
                }
            }
        }
    }

    fn target(&self, t: &ast::Target) -> String {
        match t {
            ast::Target::Path(p) => self.path(p),
            ast::Target::Udf(k) => self.udf(k),
        }
    }

    fn path(&self, p: &Path) -> String {
        if p.segments.iter().all(|s| ast::is_identifier(&s.value)) {
            p.display()
        } else {
            compact(self.src(p.span))
        }
    }

    fn udf(&self, k: &UdfKey) -> String {
        match &k.kind {
            UdfKeyKind::Static(name) => {
                format!("udf {}", string_source(self.src(name.span), &name.value))
            }
            UdfKeyKind::Dynamic(p) => format!("udf {}", self.path(p)),
        }
    }

    fn expr(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Str(_) => self.src(e.span).to_string(),
            ExprKind::Number(n) => {
                let written = self.src(e.span);
                if written.is_empty() {
                    n.clone()
                } else {
                    compact(written)
                }
            }
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Path(p) => self.path(p),
            ExprKind::Name(n) => n.value.clone(),
            ExprKind::Udf(k) => self.udf(k),
            ExprKind::Call { name, args } => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                format!("{}({})", name.value, args.join(", "))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => format!(
                "if {} then {} else {}",
                self.cond(cond),
                self.expr(then),
                self.expr(otherwise)
            ),
            ExprKind::Coalesce(a, b) => format!("{} ?? {}", self.expr(a), self.expr(b)),
            ExprKind::Require(a) => format!("{}!", self.expr(a)),
            ExprKind::Not(a) => format!("not {}", self.expr(a)),
            ExprKind::Paren(a) => format!("({})", self.expr(a)),
        }
    }

    fn cond(&self, c: &Cond) -> String {
        match &c.kind {
            CondKind::Expr(e) => self.expr(e),
            CondKind::Compare { op, lhs, rhs } => {
                let op = match op {
                    ast::CompareOp::Eq => "==",
                    ast::CompareOp::Ne => "!=",
                };
                format!("{} {op} {}", self.expr(lhs), self.expr(rhs))
            }
            CondKind::Exists(p) => format!("exists({})", self.path(p)),
            CondKind::And(a, b) => format!("{} and {}", self.cond(a), self.cond(b)),
            CondKind::Or(a, b) => format!("{} or {}", self.cond(a), self.cond(b)),
        }
    }
}

/// A table entry from its key to the end of its value.
fn entry_span(text: &str, e: &ast::TableEntry) -> Span {
    Span::new(e.key.span.start, code_end(text, e.value.span))
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Template(t) => t.span,
        Item::Table(t) => t.span,
        Item::Error(s) => *s,
    }
}

/// Where an item's first keyword is: its span may start at its doc comment, which belongs to
/// the trivia before it.
fn item_start(text: &str, item: &Item) -> usize {
    skip_trivia(text, item_span(item).start as usize)
}

/// The first offset from `from` on that is not white space or a comment.
fn skip_trivia(text: &str, from: usize) -> usize {
    let region = text.get(from..).unwrap_or_default();
    let mut rest = region;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest = &rest[end..];
        } else if c.is_whitespace() || c == '\u{FEFF}' {
            rest = &rest[c.len_utf8()..];
        } else {
            break;
        }
    }
    from + (region.len() - rest.len())
}

/// The offset of the `{` that opens a body, searching from `from` (skipping trivia).
fn find_open_brace(text: &str, from: usize, limit: usize) -> Result<usize, FormatError> {
    let region = text.get(from..limit).unwrap_or_default();
    let mut rest = region;
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            return Ok(from + (region.len() - rest.len()));
        }
        if rest.starts_with("//") {
            return Err(FormatError::Unstable(format!(
                "a comment before the `{{` of the item ending at byte {limit}"
            )));
        } else if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else {
            break;
        }
    }
    Err(FormatError::Unstable(format!(
        "no opening brace after byte {from}"
    )))
}

/// A string literal as written when the span covers it, else re-quoted from its value.
fn string_source(written: &str, value: &str) -> String {
    let w = written.trim();
    if (w.starts_with('"') || w.starts_with("r\"")) && w.ends_with('"') && w.len() >= 2 {
        w.to_string()
    } else {
        let mut s = String::with_capacity(value.len() + 2);
        s.push('"');
        for c in value.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '{' => s.push_str("\\{"),
                '}' => s.push_str("\\}"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

fn literal(written: &str, kind: &ast::LiteralKind) -> String {
    match kind {
        ast::LiteralKind::Str(v) => string_source(written, v),
        ast::LiteralKind::Number(n) => {
            if written.trim().is_empty() {
                n.clone()
            } else {
                compact(written)
            }
        }
        ast::LiteralKind::Bool(b) => b.to_string(),
    }
}

fn type_name(t: &ast::TypeName) -> String {
    if t.optional {
        format!("{}?", t.name)
    } else {
        t.name.clone()
    }
}

/// A value that spans lines with comments among them, kept as written but for its layout:
/// each continuation line is indented by eight spaces (one level deeper than the mapping),
/// blank lines go, and no line ends in white space. Strings cannot span lines, so this touches
/// no string.
fn reindent(written: &str) -> String {
    let mut lines = written.split('\n');
    let mut out = lines.next().unwrap_or_default().trim_end().to_string();
    for line in lines.map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str("\n        ");
        out.push_str(line);
    }
    out
}

/// Source text with white space outside string literals removed (`ref . x` → `ref.x`).
fn compact(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in written.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// A copy of a syntax tree with every span zeroed and doc comments' trailing white space
/// trimmed: two files mean the same thing when these are equal.
pub fn without_spans(file: &ast::File) -> ast::File {
    let mut f = file.clone();
    for item in &mut f.items {
        match item {
            Item::Template(t) => {
                t.doc = t.doc.as_deref().map(normalise_doc);
                t.kind_span = Span::default();
                t.name.span = Span::default();
                t.reference.span = Span::default();
                t.reference_span = Span::default();
                t.span = Span::default();
                for m in &mut t.mappings {
                    m.span = Span::default();
                    match &mut m.target {
                        ast::Target::Path(p) => clear_path(p),
                        ast::Target::Udf(k) => clear_udf(k),
                    }
                    clear_expr(&mut m.value);
                }
            }
            Item::Table(t) => {
                t.doc = t.doc.as_deref().map(normalise_doc);
                t.name.span = Span::default();
                t.key_type.span = Span::default();
                t.value_type.span = Span::default();
                t.span = Span::default();
                for e in &mut t.entries {
                    e.span = Span::default();
                    e.key.span = Span::default();
                    e.value.span = Span::default();
                }
            }
            Item::Error(s) => *s = Span::default(),
        }
    }
    f
}

fn normalise_doc(doc: &str) -> String {
    doc.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn clear_path(p: &mut Path) {
    p.root_span = Span::default();
    p.span = Span::default();
    for s in &mut p.segments {
        s.span = Span::default();
    }
}

fn clear_udf(k: &mut UdfKey) {
    k.span = Span::default();
    match &mut k.kind {
        UdfKeyKind::Static(n) => n.span = Span::default(),
        UdfKeyKind::Dynamic(p) => clear_path(p),
    }
}

fn clear_expr(e: &mut Expr) {
    e.span = Span::default();
    match &mut e.kind {
        ExprKind::Str(s) => {
            for part in &mut s.parts {
                if let ast::StrPart::Interp(p) = part {
                    clear_path(p);
                }
            }
        }
        ExprKind::Number(_) | ExprKind::Bool(_) => {}
        ExprKind::Path(p) => clear_path(p),
        ExprKind::Name(n) => n.span = Span::default(),
        ExprKind::Udf(k) => clear_udf(k),
        ExprKind::Call { name, args } => {
            name.span = Span::default();
            args.iter_mut().for_each(clear_expr);
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            clear_cond(cond);
            clear_expr(then);
            clear_expr(otherwise);
        }
        ExprKind::Coalesce(a, b) => {
            clear_expr(a);
            clear_expr(b);
        }
        ExprKind::Require(a) | ExprKind::Not(a) | ExprKind::Paren(a) => clear_expr(a),
    }
}

fn clear_cond(c: &mut Cond) {
    c.span = Span::default();
    match &mut c.kind {
        CondKind::Expr(e) => clear_expr(e),
        CondKind::Compare { lhs, rhs, .. } => {
            clear_expr(lhs);
            clear_expr(rhs);
        }
        CondKind::Exists(p) => clear_path(p),
        CondKind::And(a, b) | CondKind::Or(a, b) => {
            clear_cond(a);
            clear_cond(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivia_reads_comments_and_blank_lines() {
        let text = " // a\n\n\n  // b\n;";
        let t = trivia(text, 0..text.len()).expect("trivia");
        assert_eq!(
            t,
            vec![
                Trivia::Trailing("// a".into()),
                Trivia::Blank,
                Trivia::Comment("// b".into())
            ]
        );
    }

    #[test]
    fn trivia_rejects_code() {
        assert!(trivia("  x ", 0..4).is_err());
    }

    #[test]
    fn comments_inside_strings_are_not_comments() {
        let text = r#"f("a // b", c)"#;
        assert!(!inner_comments(text, Span::new(0, text.len() as u32)));
        let text = "f(a, // why\n b)";
        assert!(inner_comments(text, Span::new(0, text.len() as u32)));
        let text = "f(a) // why";
        assert!(!inner_comments(text, Span::new(0, text.len() as u32)));
        assert_eq!(code_end(text, Span::new(0, text.len() as u32)), 4);
        let text = r#"r"a\" // b""#;
        assert_eq!(code_end(text, Span::new(0, text.len() as u32)), 5);
    }

    #[test]
    fn reindent_lays_out_continuation_lines() {
        assert_eq!(
            reindent("join(\", \",  \r\n\n  address.line1, // first  \r\n\t\taddress.town)"),
            "join(\", \",\n        address.line1, // first\n        address.town)"
        );
    }

    #[test]
    fn compact_keeps_string_contents() {
        assert_eq!(compact(r#"field [ "odd name" ]"#), r#"field["odd name"]"#);
        assert_eq!(compact("ref . x"), "ref.x");
    }

    #[test]
    fn string_source_requotes_values() {
        assert_eq!(string_source("\"a\"", "a"), "\"a\"");
        assert_eq!(string_source("abc", "a\"b{"), "\"a\\\"b\\{\"");
    }
}
