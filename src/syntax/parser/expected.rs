//! Turning pest's "expected one of these rules at this position" into a sentence a user can
//! act on: what was expected, after what, and what was found instead.
//!
//! pest reports the rules it tried at the furthest position it reached. Every token the
//! grammar expects is a named rule, so that set says what could have come next; the text
//! before the position (lexed again here, only on this error path) gives the context: the
//! template's name, the target of the mapping, the token just before.

use super::Rule;
use super::scan::Region;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};

const TARGET_EXAMPLES: &str = "`aurora.description`, `field.status` or `udf \"CODE\"`";

pub(super) fn describe(
    text: &str,
    region: &Region,
    error: &pest::error::Error<Rule>,
    file: FileId,
) -> Diagnostic {
    let pos = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let at = (region.start + pos).min(region.end);
    let positives: &[Rule] = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
        pest::error::ErrorVariant::CustomError { .. } => {
            let found = token_at(text, at);
            return Diagnostic::new(
                Code::E0001,
                file,
                found.span(),
                "expression nested too deeply",
            )
            .with_primary_label("the parser ran out of room here")
            .with_help("split the expression, or simplify it");
        }
    };
    let cx = Context::new(text, region, at);
    let report = message(&cx, positives);
    let mut d = Diagnostic::new(Code::E0001, file, cx.found.span(), report.message)
        .with_primary_label(report.label);
    if let Some((span, label)) = report.secondary {
        d = d.with_label(file, span, label);
    }
    if let Some(help) = report.help {
        d = d.with_help(help);
    }
    d
}

struct Report {
    message: String,
    label: String,
    help: Option<String>,
    secondary: Option<(Span, String)>,
}

impl Report {
    fn new(message: impl Into<String>, label: impl Into<String>) -> Self {
        Report {
            message: message.into(),
            label: label.into(),
            help: None,
            secondary: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary = Some((span, label.into()));
        self
    }
}

fn message(cx: &Context<'_>, positives: &[Rule]) -> Report {
    let has = |r: Rule| positives.contains(&r);
    let any = |rs: &[Rule]| rs.iter().any(|r| positives.contains(r));
    let found = cx.found.describe();
    let prev = cx.prev_text();

    if cx.at_end && has(Rule::rbrace) {
        return close_item(cx, &found);
    }

    if has(Rule::item) || has(Rule::template_kind) || has(Rule::kw_table) {
        if cx.at_end && cx.tokens.iter().any(|t| t.kind == Kind::Doc) {
            return Report::new(
                "expected a template or a table after the doc comment",
                "nothing follows the doc comment",
            )
            .help("a `///` doc comment belongs to the next `create`, `incoming` or `table`; use `//` for a plain comment");
        }
        let mut r = Report::new(
            format!("expected `create`, `incoming` or `table`, found {found}"),
            "a template or a table must start here",
        );
        if cx.found.text == "}" {
            r = r.help("this `}` closes nothing: remove it");
        } else if cx.found.is_target_like() {
            r = r.help("mappings go inside a template: `create \"NAME\" for ref.REFERENCE { … }`");
        }
        return r;
    }
    if has(Rule::template_name) {
        return Report::new(
            format!("expected the template's name, a string, after `{prev}`, found {found}"),
            "expected a string such as \"Pothole report\"",
        )
        .help("a template starts `create \"NAME\" for ref.REFERENCE {`");
    }
    if has(Rule::kw_for) {
        return Report::new(
            "expected `for ref.NAME` after the template name",
            format!("expected `for` here, found {found}"),
        )
        .help("a template names the reference it works through: `create \"NAME\" for ref.REFERENCE {`");
    }
    if has(Rule::kw_ref) {
        return Report::new(
            format!("expected a reference `ref.NAME` after `for`, found {found}"),
            "expected `ref.NAME`",
        );
    }
    if has(Rule::lbrace) {
        return if cx.in_table() {
            Report::new(
                format!(
                    "expected `{{` to open the entries of the table `{}`, found {found}",
                    cx.item_name()
                ),
                "expected `{`",
            )
        } else {
            Report::new(
                format!("expected `{{` after `{prev}` to open the template, found {found}"),
                "expected `{`",
            )
        };
    }
    if has(Rule::table_name) {
        let mut r = Report::new(
            format!("expected a table name after `table`, found {found}"),
            "expected a name",
        );
        if cx.found.kind == Kind::Word && is_keyword(cx.found.text) {
            r = r.help(format!(
                "`{}` is a keyword and cannot be a table name",
                cx.found.text
            ));
        }
        return r;
    }
    if has(Rule::colon) {
        return Report::new(
            format!(
                "expected `:` after the table name `{}`, found {found}",
                cx.item_name()
            ),
            "expected `:`",
        )
        .help("a table starts `table NAME: KEY_TYPE -> VALUE_TYPE {`");
    }
    if has(Rule::type_ident) {
        return Report::new(
            format!(
                "expected a type such as `text`, `integer` or `number` after `{prev}`, found {found}"
            ),
            "expected a type",
        );
    }
    if has(Rule::arrow) {
        return Report::new(
            format!("expected `->` between the key type and the value type, found {found}"),
            "expected `->`",
        )
        .help("a table starts `table NAME: KEY_TYPE -> VALUE_TYPE {`");
    }
    if has(Rule::assign) {
        let target = cx.statement_text();
        let mut r = Report::new(
            format!("expected `=` after the target `{target}`, found {found}"),
            "expected `=`",
        );
        if cx.found.text == "==" {
            r = r.help("a mapping is written with a single `=`: `TARGET = EXPRESSION`");
        } else {
            r = r.help("a mapping is `TARGET = EXPRESSION`, one per line");
        }
        return r;
    }
    if has(Rule::fat_arrow) {
        return Report::new(
            format!("expected `=>` after the key `{prev}`, found {found}"),
            "expected `=>`",
        )
        .help("a table entry is `KEY => VALUE`, one per line");
    }
    if has(Rule::literal) {
        return Report::new(
            format!("expected a value (a string, a number, `true` or `false`) after `{prev}`, found {found}"),
            "expected a literal",
        )
        .help("table keys and values are literals");
    }
    if has(Rule::udf_key_arg) {
        return Report::new(
            format!("expected the UDF's code or name as a string, or a source path, after `udf`, found {found}"),
            "expected `\"CODE\"` or a path",
        )
        .help("write `udf \"CODE\"` or `udf field.NAME`");
    }
    // After the root, `.` failed as plain text, so only `bracket_segment` was tried there.
    if has(Rule::segments) || (has(Rule::bracket_segment) && !has(Rule::segment_name)) {
        return Report::new(
            format!("expected `.` and a name after `{prev}`, found {found}"),
            "expected `.NAME`",
        )
        .help(format!(
            "a path is a root and at least one name, as in `{prev}.name`; `{prev}` alone is not a value"
        ));
    }
    if has(Rule::segment_name) {
        return Report::new(
            format!("expected a name after `{prev}`, found {found}"),
            "expected a name",
        )
        .help("names after `.` are letters, digits and `_`; write `field[\"odd-name\"]` for any other name");
    }
    if has(Rule::kw_then) {
        return Report::new(
            format!("expected `then` after the condition of `if`, found {found}"),
            "expected `then`",
        )
        .help("write `if CONDITION then VALUE else VALUE`");
    }
    if has(Rule::kw_else) {
        let mut r = Report::new(
            format!("expected `else` after the `then` value, found {found}"),
            "expected `else`",
        );
        r = if cx.found.kind == Kind::Newline {
            r.help("an `if` needs both branches, and outside parentheses it must be on one line")
        } else {
            r.help("an `if` needs both branches: `if CONDITION then VALUE else VALUE`")
        };
        return r;
    }
    if has(Rule::rparen) || (has(Rule::comma) && !cx.in_table()) {
        let open = cx.open_paren();
        let expr_too = any(&[Rule::p_expr, Rule::not_op]) || prev == ",";
        let (message, label) = match (&open, expr_too) {
            (Some((_, Some(f))), true) => (
                format!(
                    "expected an argument or `)` after `{prev}` in the call of `{f}`, found {found}"
                ),
                "expected an argument or `)`",
            ),
            (Some((_, Some(f))), false) => (
                format!("expected `,` or `)` in the call of `{f}`, found {found}"),
                "expected `,` or `)`",
            ),
            _ => (
                format!("expected `)` to close the parenthesis, found {found}"),
                "expected `)`",
            ),
        };
        let mut r = Report::new(message, label);
        if let Some((span, _)) = open {
            r = r.secondary(span, "this `(` is not closed");
        }
        return r;
    }
    // Where an operand may start, `not` is tried first: the set then holds `(` (of a
    // parenthesis) too, but what is missing is the whole operand.
    if has(Rule::lparen) && !has(Rule::not_op) {
        return Report::new(
            format!("expected `(` after `{prev}`, found {found}"),
            "expected `(`",
        );
    }
    if any(&[
        Rule::expr,
        Rule::p_expr,
        Rule::not_op,
        Rule::cond,
        Rule::p_cond,
        Rule::compare,
        Rule::p_compare,
    ]) {
        let mut r = if prev.is_empty() {
            Report::new(
                format!("expected an expression, found {found}"),
                "expected a value",
            )
        } else {
            Report::new(
                format!("expected an expression after `{prev}`, found {found}"),
                "expected a value",
            )
        };
        if cx.found.text == "exists" {
            r = r.help("`exists(path)` is a condition and can only follow `if`, `and` or `or`; to negate it, swap the branches of the `if`");
        } else if cx.found.kind == Kind::Word && is_keyword(cx.found.text) {
            r = r.help(format!(
                "`{}` is a keyword; a value is a string, a number, `true`, `false`, a path such as `field.summary`, a call or `if … then … else …`",
                cx.found.text
            ));
        } else if prev == "=" && cx.found.kind == Kind::Newline {
            r = r.help("every mapping needs a value: `TARGET = EXPRESSION` on one line");
        }
        return r;
    }
    if has(Rule::mapping) {
        if cx.found.kind == Kind::Eof
            || (cx.found.kind == Kind::Word && is_item_keyword(cx.found.text))
        {
            return close_item(cx, &found);
        }
        return Report::new(
            format!("expected a target such as {TARGET_EXAMPLES}, found {found}"),
            "expected a target",
        )
        .help("a mapping is `TARGET = EXPRESSION`, one per line");
    }
    if has(Rule::semi) || has(Rule::comma) {
        if cx.found.text == ")" {
            return Report::new(
                "unexpected `)`: there is no `(` to close",
                "no matching `(`",
            );
        }
        if cx.in_table() {
            return Report::new(
                format!("expected a new line, `;` or `,` after the table entry, found {found}"),
                "expected the end of the entry",
            )
            .help("a table entry is `KEY => VALUE`, one per line");
        }
        let mut r = Report::new(
            format!("expected the end of the mapping (a new line or `;`), found {found}"),
            "expected the end of the mapping",
        );
        if cx.found.kind == Kind::Word && !is_keyword(cx.found.text) {
            r = r.help("write one mapping per line, or separate them with `;`");
        }
        return r;
    }
    if has(Rule::rbrace) {
        return close_item(cx, &found);
    }
    if has(Rule::EOI) {
        return Report::new(
            format!("unexpected {found} after the end of the item"),
            "unexpected",
        );
    }
    let words: Vec<&str> = positives.iter().map(|r| rule_words(*r)).collect();
    Report::new(
        format!("expected {}, found {found}", words.join(" or ")),
        "unexpected",
    )
}

/// "expected `}` to close …", with a label on the opening brace.
fn close_item(cx: &Context<'_>, found: &str) -> Report {
    let what = if cx.in_table() {
        format!("the table `{}`", cx.item_name())
    } else {
        format!("the template `{}`", cx.item_name())
    };
    let mut r = Report::new(
        format!("expected `}}` to close {what}, found {found}"),
        "expected `}`",
    );
    if let Some(open) = cx.tokens.iter().find(|t| t.text == "{") {
        r = r.secondary(open.span(), format!("{what} starts here"));
    }
    r
}

fn rule_words(rule: Rule) -> &'static str {
    match rule {
        Rule::coalesce_op => "`??`",
        Rule::bang => "`!`",
        Rule::cmp_op => "`==` or `!=`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_exists => "`exists`",
        Rule::question => "`?`",
        Rule::EOI => "the end of the file",
        Rule::doc => "a doc comment",
        _ => "something else",
    }
}

fn is_item_keyword(w: &str) -> bool {
    matches!(w, "create" | "incoming" | "table")
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "create"
            | "incoming"
            | "table"
            | "for"
            | "udf"
            | "if"
            | "then"
            | "else"
            | "not"
            | "and"
            | "or"
            | "exists"
            | "true"
            | "false"
            | "case"
            | "field"
            | "date"
            | "person"
            | "address"
            | "ref"
            | "aurora"
            | "contact"
    )
}

// ----------------------------------------------------------------------------------------------
// A small lexer for the error path

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An identifier, possibly with `.name` and `["…"]` after it (a path), or a number.
    Word,
    Str,
    Punct,
    Newline,
    Doc,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    start: usize,
    end: usize,
    text: &'a str,
    kind: Kind,
}

impl Tok<'_> {
    fn span(&self) -> Span {
        Span::from_range(self.start..self.end)
    }

    /// How the token is named in "found …".
    fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "the end of the file".to_string(),
            Kind::Newline => "the end of the line".to_string(),
            Kind::Doc => "a doc comment".to_string(),
            _ => {
                let mut t: String = self.text.chars().take(40).collect();
                if t.len() < self.text.len() {
                    t.push('…');
                }
                if t.contains('`') {
                    format!("'{t}'")
                } else {
                    format!("`{t}`")
                }
            }
        }
    }

    fn is_target_like(&self) -> bool {
        self.kind == Kind::Word && (self.text.contains('.') || self.text == "udf")
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The next token at or after `i`, skipping spaces, tabs and plain comments (not newlines).
fn next_token(text: &str, mut i: usize) -> Tok<'_> {
    let bytes = text.as_bytes();
    loop {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r') {
            i += 1;
        }
        if text[i..].starts_with("\u{FEFF}") {
            i += 3;
            continue;
        }
        if bytes.get(i) == Some(&b'/') && bytes.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            if bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/') {
                return tok(text, i, end, Kind::Doc);
            }
            i = end;
            continue;
        }
        break;
    }
    let Some(&b) = bytes.get(i) else {
        return tok(text, i, i, Kind::Eof);
    };
    match b {
        b'\n' => tok(text, i, i, Kind::Newline),
        b'"' => tok(text, i, string_end(bytes, i + 1, false), Kind::Str),
        b'r' if bytes.get(i + 1) == Some(&b'"') => {
            tok(text, i, string_end(bytes, i + 2, true), Kind::Str)
        }
        b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
            tok(text, i, word_end(bytes, i + 1), Kind::Word)
        }
        _ if is_ident(b) => tok(text, i, word_end(bytes, i), Kind::Word),
        _ => {
            let two = bytes.get(i..i + 2).unwrap_or_default();
            let len = if matches!(two, b"==" | b"!=" | b"=>" | b"->" | b"??") {
                2
            } else {
                text[i..].chars().next().map_or(1, char::len_utf8)
            };
            tok(text, i, i + len, Kind::Punct)
        }
    }
}

fn tok(text: &str, start: usize, end: usize, kind: Kind) -> Tok<'_> {
    Tok {
        start,
        end,
        text: &text[start..end],
        kind,
    }
}

/// The end of a word: identifier characters, then any `.name` and `["…"]` parts.
fn word_end(bytes: &[u8], mut j: usize) -> usize {
    loop {
        while j < bytes.len() && is_ident(bytes[j]) {
            j += 1;
        }
        match (bytes.get(j), bytes.get(j + 1)) {
            (Some(b'.'), Some(&c)) if is_ident(c) => j += 1,
            (Some(b'['), Some(b'"')) => {
                let end = string_end(bytes, j + 2, false);
                if bytes.get(end) == Some(&b']') {
                    j = end + 1;
                } else {
                    return j;
                }
            }
            _ => return j,
        }
    }
}

/// The end of a string whose body starts at `j` (after the closing quote, or at the end of
/// the line when there is none).
fn string_end(bytes: &[u8], mut j: usize, raw: bool) -> usize {
    while j < bytes.len() {
        match bytes[j] {
            b'"' => return j + 1,
            b'\n' => return j,
            b'\\' if !raw && bytes.get(j + 1).is_some_and(|&c| c != b'\n') => {
                j += 2;
                // Stay on a character boundary after an escaped multi-byte character.
                while j < bytes.len() && (bytes[j] & 0xC0) == 0x80 {
                    j += 1;
                }
            }
            _ => j += 1,
        }
    }
    bytes.len()
}

fn token_at(text: &str, at: usize) -> Tok<'_> {
    next_token(text, at)
}

/// What is known about the place of the error.
struct Context<'a> {
    /// The region's tokens before the error position.
    tokens: Vec<Tok<'a>>,
    /// The token at the error position.
    found: Tok<'a>,
    /// Whether the error is at the end of the region: nothing of the item is left.
    at_end: bool,
}

impl<'a> Context<'a> {
    fn new(text: &'a str, region: &Region, at: usize) -> Self {
        let mut tokens = Vec::new();
        let mut i = region.start;
        while i < at {
            let t = next_token(text, i);
            if t.kind == Kind::Eof || t.start >= at {
                break;
            }
            i = if t.kind == Kind::Newline {
                t.start + 1
            } else {
                t.end.max(t.start + 1)
            };
            tokens.push(t);
        }
        let mut found = token_at(text, at);
        let at_end = found.start >= region.end;
        if at_end {
            // Nothing is left in the region: point just after its last token, and name what
            // comes next (the next item, or the end of the file).
            let (_, end) = region.error_range(text);
            found = if region.end >= text.len() {
                tok(text, end, end, Kind::Eof)
            } else {
                let next = next_token(text, region.end);
                Tok {
                    start: end,
                    end,
                    ..next
                }
            };
        } else if found.end > region.end {
            // Never point past the region (its next item is not part of this error).
            found = tok(text, found.start, region.end, found.kind);
        }
        Context {
            tokens,
            found,
            at_end,
        }
    }

    fn significant(&self) -> impl DoubleEndedIterator<Item = &Tok<'a>> {
        self.tokens
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Newline | Kind::Doc))
    }

    /// The text of the token just before the error.
    fn prev_text(&self) -> String {
        self.significant()
            .next_back()
            .map(|t| t.text.chars().take(60).collect())
            .unwrap_or_default()
    }

    fn in_table(&self) -> bool {
        self.significant().next().is_some_and(|t| t.text == "table")
    }

    /// The template's name (without quotes) or the table's name.
    fn item_name(&self) -> String {
        let mut it = self.significant();
        while let Some(t) = it.next() {
            if matches!(t.text, "create" | "incoming" | "table")
                && let Some(n) = it.next()
            {
                let s = n.text.trim_start_matches('r').trim_matches('"');
                return s.chars().take(60).collect();
            }
        }
        String::new()
    }

    /// The text of the current statement: from the last newline, `;` or `{` to the error.
    fn statement_text(&self) -> String {
        let toks: Vec<&Tok<'a>> = self
            .tokens
            .iter()
            .rev()
            .take_while(|t| t.kind != Kind::Newline && t.text != ";" && t.text != "{")
            .filter(|t| t.kind != Kind::Doc)
            .collect();
        let text = toks
            .iter()
            .rev()
            .map(|t| t.text)
            .collect::<Vec<_>>()
            .join(" ");
        text.chars().take(60).collect()
    }

    /// The innermost `(` not closed before the error, and the name called with it, if any.
    fn open_paren(&self) -> Option<(Span, Option<String>)> {
        let mut stack: Vec<(Span, Option<String>)> = Vec::new();
        let mut prev: Option<&Tok<'a>> = None;
        for t in self.significant() {
            match t.text {
                "(" => {
                    let callee = prev
                        .filter(|p| p.kind == Kind::Word && !p.text.contains('.'))
                        .map(|p| p.text.to_string());
                    stack.push((t.span(), callee));
                }
                ")" => {
                    stack.pop();
                }
                "{" | "}" => stack.clear(),
                _ => {}
            }
            prev = Some(t);
        }
        stack.pop()
    }
}
