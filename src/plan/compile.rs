//! Packing checked templates into a plan bundle.

use super::bundle::*;
use crate::check::{Checked, Env};
use crate::diagnostics::{FileId, SourceMap, Span};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// What `compile` needs besides the checked project.
pub struct CompileInput<'a> {
    pub checked: &'a Checked,
    pub env: Env<'a>,
    /// The sources the spans refer to (templates and schemas).
    pub sources: &'a SourceMap,
    /// The template files of the project (their hashes go into the bundle).
    pub template_files: &'a [FileId],
    /// The SHA-256 of the Aurora and Connect schema texts (see [`content_hash`]).
    pub schemas: SchemaHashes,
}

/// The SHA-256 of a text, as lowercase hex.
pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// Builds the bundle. Templates with errors are left out, so call it when `checked` has none.
pub fn compile(input: &CompileInput<'_>) -> Bundle {
    let sources = input.sources;
    let mut hashes: Vec<SourceHash> = input
        .template_files
        .par_iter()
        .map(|id| {
            let f = sources.get(*id);
            SourceHash {
                file: f.name.clone(),
                sha256: content_hash(&f.text),
            }
        })
        .collect();
    hashes.sort_by(|a, b| a.file.cmp(&b.file));

    let tables = input
        .checked
        .tables
        .iter()
        .map(|t| TablePlan {
            name: t.name.clone(),
            key_type: t.key_type,
            value_type: t.value_type,
            entries: t.entries.clone(),
        })
        .collect();

    let templates = input
        .checked
        .templates
        .par_iter()
        .filter(|t| !t.has_errors)
        .map(|t| TemplatePlan {
            name: t.name.clone(),
            kind: t.kind,
            reference: t.reference.clone(),
            location: location(sources, t.file, t.header),
            nodes: t.body.nodes.clone(),
            mappings: t
                .body
                .mappings
                .iter()
                .map(|m| MappingPlan {
                    target: m.target.clone(),
                    value: m.value,
                    location: location(sources, t.file, m.span),
                    text: one_line(&sources.get(t.file).text, m.span),
                })
                .collect(),
        })
        .collect();

    let udfs = input
        .env
        .aurora
        .udfs
        .iter()
        .map(|u| UdfEntry {
            code: u.code.clone(),
            name: u.name.clone(),
            ty: u.ty,
        })
        .collect();

    Bundle {
        format: FORMAT.to_string(),
        schemas: input.schemas.clone(),
        sources: hashes,
        udf_wire: input.env.aurora.udf_wire.clone(),
        udfs,
        tables,
        templates,
    }
}

/// `file:line` of a span's start.
fn location(sources: &SourceMap, file: FileId, span: Span) -> String {
    let f = sources.get(file);
    format!("{}:{}", f.name, f.line_col(span.start).line)
}

/// The source text of a span with its white space folded onto one line.
fn one_line(text: &str, span: Span) -> String {
    let raw = text.get(span.range()).unwrap_or_default();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            content_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn one_line_folds_white_space() {
        assert_eq!(
            one_line("a =\n   \"x\"  ?? y", Span::new(0, 16)),
            "a = \"x\" ?? y"
        );
    }
}
