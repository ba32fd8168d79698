//! Reading spanned TOML: tables as ordered entries, typed values with a diagnostic (S0002,
//! S0003, S0004) when a key is unknown, a value has the wrong type or a key is missing.

use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One `key = value` of a table, with the spans of both.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a, 'i> {
    pub key: &'a str,
    pub key_span: Span,
    pub value: &'a DeValue<'i>,
    pub span: Span,
}

/// The entries of a table in the order they appear in the text.
pub(crate) fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut out: Vec<Entry<'a, 'i>> = table
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().as_ref(),
            key_span: Span::from_range(k.span()),
            value: v.get_ref(),
            span: Span::from_range(v.span()),
        })
        .collect();
    out.sort_by_key(|e| (e.key_span.start, e.key_span.end));
    out
}

/// Parses a TOML document. On a syntax error the document is recovered as far as the
/// parser can, and every error is an S0001.
pub(crate) fn parse_document<'i>(
    text: &'i str,
    file: FileId,
) -> (Spanned<DeTable<'i>>, Vec<Diagnostic>) {
    let (doc, errors) = DeTable::parse_recoverable(text);
    let mut diags: Vec<Diagnostic> = Vec::new();
    for e in errors {
        let span = e
            .span()
            .map(Span::from_range)
            .unwrap_or_else(|| Span::new(0, 0));
        let message = e.message().trim().to_string();
        if diags
            .iter()
            .any(|d| d.primary.span == span && d.message.ends_with(&message))
        {
            continue;
        }
        diags.push(
            Diagnostic::new(
                Code::S0001,
                file,
                span,
                format!("not valid TOML: {message}"),
            )
            .with_primary_label(message),
        );
    }
    (doc, diags)
}

/// The closest of `candidates` to `wanted`, when it is close enough to be a typo.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| {
            (
                strsim::damerau_levenshtein(&wanted_lower, &c.to_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// `a`, `b` and `c` as "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// "a string", "an integer": a TOML value's type with its article.
pub(crate) fn kind(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Collects the diagnostics of one TOML file while its values are read.
pub(crate) struct Reader {
    pub file: FileId,
    pub diags: Vec<Diagnostic>,
}

impl Reader {
    pub fn new(file: FileId) -> Self {
        Reader {
            file,
            diags: Vec::new(),
        }
    }

    pub fn report(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(code, self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Reports every key of `entries` not in `allowed` (S0002), suggesting the closest one.
    /// `place` says where the key was found ("in `[fields.summary]`").
    pub fn unknown_keys(&mut self, entries: &[Entry<'_, '_>], allowed: &[&str], place: &str) {
        for e in entries {
            if allowed.contains(&e.key) {
                continue;
            }
            let file = self.file;
            let d = self.report(
                Code::S0002,
                e.key_span,
                format!("unknown key `{}` {place}", e.key),
            );
            d.primary_label = "unknown key".into();
            match closest(e.key, allowed.iter().copied()) {
                Some(s) => {
                    d.help = Some(format!("did you mean `{s}`?"));
                    d.fixes.push(crate::diagnostics::Fix {
                        title: format!("replace with `{s}`"),
                        location: crate::diagnostics::Location {
                            file,
                            span: e.key_span,
                        },
                        replacement: s.to_string(),
                    });
                }
                None => d.help = Some(format!("the keys allowed here are {}", one_of(allowed))),
            }
        }
    }

    /// Reports a value of the wrong TOML type (S0003).
    pub fn wrong_type(&mut self, e: &Entry<'_, '_>, expected: &str) {
        let found = kind(e.value);
        self.report(
            Code::S0003,
            e.span,
            format!("`{}` must be {expected}, not {found}", e.key),
        )
        .primary_label = format!("expected {expected}");
    }

    /// The entries of a table value; S0003 when the value is not a table.
    pub fn table<'a, 'i>(
        &mut self,
        e: &Entry<'a, 'i>,
        expected: &str,
    ) -> Option<Vec<Entry<'a, 'i>>> {
        match e.value {
            DeValue::Table(t) => Some(entries(t)),
            _ => {
                self.wrong_type(e, expected);
                None
            }
        }
    }

    pub fn string(&mut self, e: &Entry<'_, '_>) -> Option<String> {
        match e.value {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(e, "a string");
                None
            }
        }
    }

    /// A string that must not be empty.
    pub fn name(&mut self, e: &Entry<'_, '_>) -> Option<String> {
        let s = self.string(e)?;
        if s.trim().is_empty() {
            self.report(
                Code::S0003,
                e.span,
                format!("`{}` must not be empty", e.key),
            )
            .primary_label = "empty".into();
            return None;
        }
        Some(s)
    }

    pub fn bool(&mut self, e: &Entry<'_, '_>) -> Option<bool> {
        match e.value {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(e, "`true` or `false`");
                None
            }
        }
    }

    /// A whole number of at least 1 that fits in 32 bits.
    pub fn positive(&mut self, e: &Entry<'_, '_>) -> Option<u32> {
        let DeValue::Integer(i) = e.value else {
            self.wrong_type(e, "a whole number");
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if n >= 1 && n <= i64::from(u32::MAX) => Some(n as u32),
            _ => {
                self.report(
                    Code::S0003,
                    e.span,
                    format!("`{}` must be a whole number of at least 1", e.key),
                )
                .primary_label = "out of range".into();
                None
            }
        }
    }

    /// A list of non-empty strings, each with its span; a repeated string is S0005.
    pub fn strings(&mut self, e: &Entry<'_, '_>) -> Option<Vec<(String, Span)>> {
        let DeValue::Array(items) = e.value else {
            self.wrong_type(e, "a list of strings");
            return None;
        };
        let mut out: Vec<(String, Span)> = Vec::new();
        for item in items.iter() {
            let span = Span::from_range(item.span());
            match item.get_ref() {
                DeValue::String(s) if s.is_empty() => {
                    self.report(
                        Code::S0003,
                        span,
                        format!("the values of `{}` must not be empty", e.key),
                    )
                    .primary_label = "empty".into();
                }
                DeValue::String(s) => {
                    if let Some((_, first)) = out.iter().find(|(v, _)| v == s.as_ref()) {
                        let file = self.file;
                        let first = *first;
                        let d = self.report(
                            Code::S0005,
                            span,
                            format!("`{s}` is listed twice in `{}`", e.key),
                        );
                        d.primary_label = "listed again here".into();
                        d.labels.push(crate::diagnostics::Label {
                            location: crate::diagnostics::Location { file, span: first },
                            message: "first listed here".into(),
                        });
                        continue;
                    }
                    out.push((s.to_string(), span));
                }
                other => {
                    self.report(
                        Code::S0003,
                        span,
                        format!(
                            "the values of `{}` must be strings, not {}",
                            e.key,
                            kind(other)
                        ),
                    )
                    .primary_label = "expected a string".into();
                }
            }
        }
        Some(out)
    }
}

/// Finds an entry by key.
pub(crate) fn get<'a, 'i>(entries: &[Entry<'a, 'i>], key: &str) -> Option<Entry<'a, 'i>> {
    entries.iter().find(|e| e.key == key).copied()
}
