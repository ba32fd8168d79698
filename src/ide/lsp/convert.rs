//! Between the editor features' types (byte spans, file ids) and the protocol's (URIs, line and
//! column ranges).

use crate::diagnostics::{self, Severity, Span};
use crate::ide::complete::{Completion, CompletionKind};
use crate::ide::line_index::{Encoding, LineIndex, Position};
use crate::ide::navigate::{Symbol, SymbolKind};
use lsp_types as lsp;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A text with its line index, for converting positions.
pub struct Text<'a> {
    pub text: &'a str,
    pub index: LineIndex,
}

impl<'a> Text<'a> {
    pub fn new(text: &'a str) -> Self {
        Text {
            text,
            index: LineIndex::new(text),
        }
    }

    pub fn range(&self, span: Span, enc: Encoding) -> lsp::Range {
        lsp::Range {
            start: self.position(span.start, enc),
            end: self.position(span.end.max(span.start), enc),
        }
    }

    pub fn position(&self, offset: u32, enc: Encoding) -> lsp::Position {
        let p = self.index.position(self.text, offset, enc);
        lsp::Position {
            line: p.line,
            character: p.column,
        }
    }

    pub fn offset(&self, pos: lsp::Position, enc: Encoding) -> u32 {
        self.index.offset(
            self.text,
            Position {
                line: pos.line,
                column: pos.character,
            },
            enc,
        )
    }

    pub fn span(&self, range: lsp::Range, enc: Encoding) -> Span {
        let a = self.offset(range.start, enc);
        let b = self.offset(range.end, enc);
        Span::new(a.min(b), a.max(b))
    }
}

/// The local path of a `file:` URI.
pub fn uri_to_path(uri: &lsp::Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file://host/path` is not local; `file:///path` is.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    Some(PathBuf::from(decoded))
}

/// The `file:` URI of a local path.
pub fn path_to_uri(path: &Path) -> Option<lsp::Uri> {
    let mut s = String::from("file://");
    let text = path.to_string_lossy();
    if !text.starts_with('/') {
        s.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    lsp::Uri::from_str(&s).ok()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A diagnostic in the protocol's terms. `locate` gives the URI and text of a file id (for
/// the related information of labels in other files).
pub fn diagnostic<'t>(
    d: &diagnostics::Diagnostic,
    text: &Text<'_>,
    enc: Encoding,
    docs_url: &str,
    locate: &dyn Fn(diagnostics::FileId) -> Option<(lsp::Uri, Text<'t>)>,
) -> lsp::Diagnostic {
    let mut message = d.message.clone();
    if !d.primary_label.is_empty() {
        message.push_str(&format!(" ({})", d.primary_label));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|l| {
            let (uri, t) = locate(l.location.file)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri,
                    range: t.range(l.location.span, enc),
                },
                message: l.message.clone(),
            })
        })
        .collect();
    // No page, no link: an empty `docs_url` means none was configured.
    let href = (!docs_url.is_empty())
        .then(|| format!("{docs_url}#{}", d.code.as_str().to_ascii_lowercase()));
    lsp::Diagnostic {
        range: text.range(d.primary.span, enc),
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        code_description: href
            .and_then(|h| lsp::Uri::from_str(&h).ok())
            .map(|href| lsp::CodeDescription { href }),
        source: Some("amap".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

pub fn completion(c: &Completion, text: &Text<'_>, enc: Encoding) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: c.label.clone(),
        kind: Some(match c.kind {
            CompletionKind::Field => lsp::CompletionItemKind::FIELD,
            CompletionKind::Function => lsp::CompletionItemKind::FUNCTION,
            CompletionKind::Table => lsp::CompletionItemKind::STRUCT,
            CompletionKind::Keyword => lsp::CompletionItemKind::KEYWORD,
            CompletionKind::Udf => lsp::CompletionItemKind::PROPERTY,
            CompletionKind::Reference => lsp::CompletionItemKind::REFERENCE,
        }),
        detail: c.detail.clone(),
        documentation: c.documentation.as_ref().map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: d.clone(),
            })
        }),
        text_edit: Some(lsp::CompletionTextEdit::Edit(lsp::TextEdit {
            range: text.range(c.replace, enc),
            new_text: c.insert.clone(),
        })),
        ..Default::default()
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written.
pub fn symbol(s: &Symbol, text: &Text<'_>, enc: Encoding) -> lsp::DocumentSymbol {
    let range = text.range(s.span, enc);
    let mut selection = text.range(s.selection, enc);
    if selection.start < range.start || selection.end > range.end {
        selection = range;
    }
    lsp::DocumentSymbol {
        name: if s.name.is_empty() {
            "(unnamed)".to_string()
        } else {
            s.name.clone()
        },
        detail: Some(s.detail.clone()),
        kind: match s.kind {
            SymbolKind::Template => lsp::SymbolKind::CLASS,
            SymbolKind::Table => lsp::SymbolKind::STRUCT,
            SymbolKind::Mapping => lsp::SymbolKind::FIELD,
        },
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!s.children.is_empty())
            .then(|| s.children.iter().map(|c| symbol(c, text, enc)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        let path = Path::new("/tmp/a project/t é.amap");
        let uri = path_to_uri(path).expect("uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20project/t%20%C3%A9.amap");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(path));
        let other = lsp::Uri::from_str("untitled:Untitled-1").expect("uri");
        assert_eq!(uri_to_path(&other), None);
    }
}
