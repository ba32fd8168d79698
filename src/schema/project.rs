//! The project file, `amap.toml`: where the templates and the two schemas are. Its
//! `[project]` table is strict; the tables the service reads (`[aurora]`, `[updates]`, …)
//! are kept raw for it.

use super::read::{Reader, entries, get, parse_document};
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use toml::de::DeValue;

const PROJECT_KEYS: &[&str] = &["templates", "aurora_schema", "connect_schema"];

/// The top-level tables of `amap.toml` besides `[project]`, read by the service.
pub const SERVICE_TABLES: &[&str] = &[
    "aurora", "updates", "store", "server", "retry", "connect", "tests",
];

/// `amap.toml`, read. Paths are as written, relative to the folder holding `amap.toml`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectConfig {
    /// Glob patterns of the template files, each with its span in `amap.toml`.
    pub templates: Vec<(String, Span)>,
    pub aurora_schema: (String, Span),
    pub connect_schema: (String, Span),
    /// The service's tables (`aurora`, `updates`, `store`, `server`, `retry`, `connect`,
    /// `tests`), unread here.
    pub other: toml::Table,
}

/// Reads `amap.toml`. `None` when `[project]` is missing or any of its keys is missing or
/// invalid; the diagnostics say why.
pub fn parse_project(text: &str, file: FileId) -> (Option<ProjectConfig>, Vec<Diagnostic>) {
    let (doc, syntax) = parse_document(text, file);
    if !syntax.is_empty() {
        return (None, syntax);
    }
    let mut r = Reader::new(file);
    let top = entries(doc.get_ref());
    let allowed: Vec<&str> = std::iter::once("project")
        .chain(SERVICE_TABLES.iter().copied())
        .collect();
    r.unknown_keys(&top, &allowed, "in `amap.toml`");

    let Some(project) = get(&top, "project") else {
        r.report(
            Code::S0004,
            Span::new(0, 0),
            "`amap.toml` has no `[project]` table",
        )
        .help =
            Some("add `[project]` with `templates`, `aurora_schema` and `connect_schema`".into());
        return (None, finish(r));
    };
    let Some(body) = r.table(&project, "a table (`[project]`)") else {
        return (None, finish(r));
    };
    r.unknown_keys(&body, PROJECT_KEYS, "in `[project]`");

    let missing = |r: &mut Reader, key: &str, example: &str| {
        r.report(
            Code::S0004,
            project.key_span,
            format!("`[project]` has no `{key}`"),
        )
        .help = Some(format!("add `{key} = {example}`"));
    };

    let templates = match get(&body, "templates") {
        None => {
            missing(&mut r, "templates", "[\"templates/**/*.amap\"]");
            None
        }
        Some(e) => match e.value {
            DeValue::Array(_) => {
                let list = r.strings(&e).unwrap_or_default();
                let mut ok = Vec::new();
                for (pattern, span) in list {
                    match glob::Pattern::new(&pattern) {
                        Ok(_) => ok.push((pattern, span)),
                        Err(err) => {
                            r.report(
                                Code::S0003,
                                span,
                                format!("`{pattern}` is not a valid file pattern: {}", err.msg),
                            )
                            .primary_label = "invalid pattern".into();
                        }
                    }
                }
                if ok.is_empty() && r.diags.iter().all(|d| d.primary.span != e.span) {
                    r.report(Code::S0003, e.span, "`templates` lists no file patterns")
                        .help = Some("list one, such as `[\"templates/**/*.amap\"]`".into());
                }
                Some(ok)
            }
            DeValue::String(s) => {
                r.report(
                    Code::S0003,
                    e.span,
                    "`templates` must be a list of file patterns, not a string",
                )
                .help = Some(format!("write `templates = [\"{s}\"]`"));
                None
            }
            _ => {
                r.wrong_type(&e, "a list of file patterns");
                None
            }
        },
    };
    let path = |r: &mut Reader, key: &str, example: &str| match get(&body, key) {
        None => {
            missing(r, key, example);
            None
        }
        Some(e) => r.name(&e).map(|s| (s, e.span)),
    };
    let aurora_schema = path(&mut r, "aurora_schema", "\"schema/aurora.toml\"");
    let connect_schema = path(&mut r, "connect_schema", "\"schema/connect.toml\"");

    let other = other_tables(text);
    let config = match (templates, aurora_schema, connect_schema) {
        (Some(templates), Some(aurora_schema), Some(connect_schema))
            if !templates.is_empty() && r.diags.iter().all(|d| d.code == Code::S0002) =>
        {
            Some(ProjectConfig {
                templates,
                aurora_schema,
                connect_schema,
                other,
            })
        }
        _ => None,
    };
    (config, finish(r))
}

fn finish(r: Reader) -> Vec<Diagnostic> {
    let mut diags = r.diags;
    crate::diagnostics::sort(&mut diags);
    diags
}

/// The service's tables of a valid document, as plain TOML values.
fn other_tables(text: &str) -> toml::Table {
    let Ok(mut all) = text.parse::<toml::Table>() else {
        return toml::Table::new();
    };
    all.retain(|k, _| SERVICE_TABLES.contains(&k));
    all
}
