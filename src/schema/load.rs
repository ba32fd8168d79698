//! Loading the Connect and Aurora schemas from TOML text. Loading never fails: whatever
//! could be read is returned together with diagnostics (S0001–S0005) whose spans point into
//! the TOML text at the offending key or value.

use super::model::*;
use super::read::{Entry, Reader, entries, get, kind, one_of, parse_document};
use crate::diagnostics::{Code, Diagnostic, FileId, Label, Location, Span};
use toml::de::DeValue;

const CONNECT_SECTIONS: &[&str] = &["fields", "dates", "references"];
const CONNECT_FIELD_KEYS: &[&str] = &["type", "required", "max_length", "options", "description"];
const CONNECT_DATE_KEYS: &[&str] = &["type", "required", "description"];
const REFERENCE_KEYS: &[&str] = &["label", "description"];

const AURORA_SECTIONS: &[&str] = &["create", "contact", "udf", "snapshot", "udf_wire"];
const AURORA_FIELD_KEYS: &[&str] = &[
    "type",
    "required",
    "max_length",
    "values",
    "wire",
    "description",
];
const UDF_KEYS: &[&str] = &[
    "code",
    "name",
    "type",
    "values",
    "max_length",
    "description",
];
const SNAPSHOT_KEYS: &[&str] = &["type", "required", "values", "description"];
const UDF_WIRE_KEYS: &[&str] = &[
    "field",
    "style",
    "code_key",
    "value_key",
    "snapshot_path",
    "snapshot_code_key",
    "snapshot_value_key",
];

/// Loads the Connect schema: `[fields.NAME]`, `[dates.NAME]` and `[references.NAME]`.
pub fn load_connect(text: &str, file: FileId) -> (ConnectSchema, Vec<Diagnostic>) {
    let (doc, syntax) = parse_document(text, file);
    let mut r = Reader::new(file);
    let mut schema = ConnectSchema::default();
    let top = entries(doc.get_ref());
    r.unknown_keys(&top, CONNECT_SECTIONS, "in the Connect schema");
    for section in &top {
        match section.key {
            "fields" => {
                for (e, body) in named_tables(&mut r, section) {
                    let place = format!("in `[fields.{}]`", e.key);
                    r.unknown_keys(&body, CONNECT_FIELD_KEYS, &place);
                    let spec = Spec {
                        what: format!("field `{}`", e.key),
                        values_key: "options",
                        types: &ScalarType::ALL,
                        default_type: None,
                    };
                    let c = read_common(&mut r, &body, e.key_span, &spec);
                    schema.fields.push(ConnectField {
                        name: e.key.to_string(),
                        ty: c.ty,
                        required: c.required,
                        max_length: c.max_length,
                        options: c.values,
                        description: c.description,
                        decl: Decl {
                            file,
                            span: e.key_span,
                        },
                    });
                }
            }
            "dates" => {
                for (e, body) in named_tables(&mut r, section) {
                    let place = format!("in `[dates.{}]`", e.key);
                    r.unknown_keys(&body, CONNECT_DATE_KEYS, &place);
                    let spec = Spec {
                        what: format!("date `{}`", e.key),
                        values_key: "options",
                        types: &[ScalarType::Date, ScalarType::Datetime],
                        default_type: Some(ScalarType::Datetime),
                    };
                    let c = read_common(&mut r, &body, e.key_span, &spec);
                    schema.dates.push(ConnectDate {
                        name: e.key.to_string(),
                        ty: c.ty,
                        required: c.required,
                        description: c.description,
                        decl: Decl {
                            file,
                            span: e.key_span,
                        },
                    });
                }
            }
            "references" => {
                for (e, body) in named_tables(&mut r, section) {
                    let place = format!("in `[references.{}]`", e.key);
                    r.unknown_keys(&body, REFERENCE_KEYS, &place);
                    let label = get(&body, "label").and_then(|l| r.string(&l));
                    let description = get(&body, "description").and_then(|d| r.string(&d));
                    schema.references.push(Reference {
                        name: e.key.to_string(),
                        label,
                        description,
                        decl: Decl {
                            file,
                            span: e.key_span,
                        },
                    });
                }
            }
            _ => {}
        }
    }
    (schema, finish(syntax, r))
}

/// Loads the Aurora schema: `[create.FIELD]`, `[contact.FIELD]`, `[[udf]]`,
/// `[snapshot."PATH"]` and `[udf_wire]`.
pub fn load_aurora(text: &str, file: FileId) -> (AuroraSchema, Vec<Diagnostic>) {
    let (doc, syntax) = parse_document(text, file);
    let mut r = Reader::new(file);
    let mut schema = AuroraSchema::default();
    let top = entries(doc.get_ref());
    r.unknown_keys(&top, AURORA_SECTIONS, "in the Aurora schema");
    for section in &top {
        match section.key {
            "create" | "contact" => {
                for (e, body) in named_tables(&mut r, section) {
                    let place = format!("in `[{}.{}]`", section.key, e.key);
                    r.unknown_keys(&body, AURORA_FIELD_KEYS, &place);
                    let spec = Spec {
                        what: format!("`{}.{}`", section.key, e.key),
                        values_key: "values",
                        types: &ScalarType::ALL,
                        default_type: None,
                    };
                    let c = read_common(&mut r, &body, e.key_span, &spec);
                    let wire = get(&body, "wire")
                        .and_then(|w| read_wire(&mut r, &w))
                        .unwrap_or_default();
                    let field = AuroraField {
                        name: e.key.to_string(),
                        ty: c.ty,
                        required: c.required,
                        max_length: c.max_length,
                        values: c.values,
                        wire,
                        description: c.description,
                        decl: Decl {
                            file,
                            span: e.key_span,
                        },
                    };
                    if section.key == "create" {
                        schema.create.push(field);
                    } else {
                        schema.contact.push(field);
                    }
                }
            }
            "udf" => read_udfs(&mut r, section, &mut schema.udfs),
            "snapshot" => {
                for (e, body) in named_tables(&mut r, section) {
                    check_snapshot_path(&mut r, &e);
                    let place = format!("in `[snapshot.\"{}\"]`", e.key);
                    r.unknown_keys(&body, SNAPSHOT_KEYS, &place);
                    let spec = Spec {
                        what: format!("snapshot field `{}`", e.key),
                        values_key: "values",
                        types: &ScalarType::ALL,
                        default_type: None,
                    };
                    let c = read_common(&mut r, &body, e.key_span, &spec);
                    schema.snapshot.push(SnapshotField {
                        path: e.key.to_string(),
                        ty: c.ty,
                        required: c.required,
                        values: c.values,
                        description: c.description,
                        decl: Decl {
                            file,
                            span: e.key_span,
                        },
                    });
                }
            }
            "udf_wire" => {
                if let Some(body) = r.table(section, "a table (`[udf_wire]`)") {
                    schema.udf_wire = read_udf_wire(&mut r, &body);
                }
            }
            _ => {}
        }
    }
    (schema, finish(syntax, r))
}

/// The diagnostics of a load, sorted. When the text is not valid TOML, only the syntax
/// errors are reported: what follows from a broken file is noise.
fn finish(syntax: Vec<Diagnostic>, r: Reader) -> Vec<Diagnostic> {
    let mut diags = if syntax.is_empty() { r.diags } else { syntax };
    crate::diagnostics::sort(&mut diags);
    diags
}

/// The `NAME = { … }` tables of a section such as `[fields]`, in text order.
fn named_tables<'a, 'i>(
    r: &mut Reader,
    section: &Entry<'a, 'i>,
) -> Vec<(Entry<'a, 'i>, Vec<Entry<'a, 'i>>)> {
    let expected = format!("a table of tables (`[{}.NAME]`)", section.key);
    let Some(items) = r.table(section, &expected) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in items {
        if e.key.trim().is_empty() {
            r.report(
                Code::S0003,
                e.key_span,
                format!("a name in `[{}]` must not be empty", section.key),
            )
            .primary_label = "empty name".into();
            continue;
        }
        let expected = format!("a table (`[{}.{}]`)", section.key, e.key);
        if let Some(body) = r.table(&e, &expected) {
            out.push((e, body));
        }
    }
    out
}

/// How one kind of schema entry reads its common keys.
struct Spec<'s> {
    /// "field `summary`", for messages.
    what: String,
    /// `options` (Connect) or `values` (Aurora).
    values_key: &'s str,
    /// The types allowed.
    types: &'s [ScalarType],
    /// The type when `type` is absent; `None` makes `type` required.
    default_type: Option<ScalarType>,
}

/// The keys every field-like entry shares.
struct Common {
    ty: ScalarType,
    required: bool,
    max_length: Option<u32>,
    values: Vec<String>,
    description: Option<String>,
}

fn read_common(r: &mut Reader, body: &[Entry<'_, '_>], header: Span, spec: &Spec<'_>) -> Common {
    let type_entry = get(body, "type");
    let ty = match type_entry {
        Some(e) => read_type(r, &e, spec),
        None => match spec.default_type {
            Some(t) => Some(t),
            None => {
                r.report(Code::S0004, header, format!("{} has no `type`", spec.what))
                    .help = Some(format!(
                    "add `type = \"…\"`: one of {}",
                    type_names(spec.types)
                ));
                None
            }
        },
    };
    let required = get(body, "required")
        .and_then(|e| r.bool(&e))
        .unwrap_or(false);
    let description = get(body, "description").and_then(|e| r.string(&e));

    let mut max_length = None;
    if let Some(e) = get(body, "max_length") {
        match ty {
            Some(t) if t != ScalarType::Text => {
                r.report(
                    Code::S0003,
                    e.key_span,
                    format!(
                        "`max_length` applies to `text`, but {} is {}",
                        spec.what,
                        a_type(t)
                    ),
                )
                .help = Some("remove `max_length`".into());
            }
            _ => max_length = r.positive(&e),
        }
    }

    let mut values = Vec::new();
    let values_entry = get(body, spec.values_key);
    if let Some(e) = values_entry {
        match ty {
            Some(t) if t != ScalarType::Choice => {
                r.report(
                    Code::S0003,
                    e.key_span,
                    format!(
                        "`{}` applies to a `choice`, but {} is {}",
                        spec.values_key,
                        spec.what,
                        a_type(t)
                    ),
                )
                .help = Some(format!(
                    "make the type `choice`, or remove `{}`",
                    spec.values_key
                ));
            }
            _ => {
                let list = r.strings(&e).unwrap_or_default();
                values = list.into_iter().map(|(v, _)| v).collect();
            }
        }
    }
    if ty == Some(ScalarType::Choice) && values.is_empty() {
        let listed = values_entry.is_some_and(|e| matches!(e.value, DeValue::Array(_)));
        let span = match (values_entry, type_entry) {
            (Some(v), _) => v.span,
            (None, Some(t)) => t.span,
            (None, None) => header,
        };
        // A list whose every value was rejected has been reported already.
        let already = values_entry.is_some_and(|e| match e.value {
            DeValue::Array(a) => !a.is_empty(),
            _ => true,
        });
        if !already {
            let message = if listed {
                format!("{} is a `choice` with no allowed values", spec.what)
            } else {
                format!(
                    "{} is a `choice` but does not list its allowed values",
                    spec.what
                )
            };
            r.report(Code::S0003, span, message).help =
                Some(format!("list them: `{} = [\"…\", \"…\"]`", spec.values_key));
        }
    }

    Common {
        ty: ty.unwrap_or(ScalarType::Text),
        required,
        max_length,
        values,
        description,
    }
}

/// Names people reach for instead of the language's type names.
const TYPE_ALIASES: &[(&str, ScalarType)] = &[
    ("string", ScalarType::Text),
    ("str", ScalarType::Text),
    ("int", ScalarType::Integer),
    ("float", ScalarType::Number),
    ("decimal", ScalarType::Number),
    ("boolean", ScalarType::Bool),
    ("enum", ScalarType::Choice),
    ("timestamp", ScalarType::Datetime),
];

/// "a `text`", "an `integer`".
fn a_type(t: ScalarType) -> String {
    let article = if t == ScalarType::Integer { "an" } else { "a" };
    format!("{article} `{}`", t.name())
}

fn type_names(types: &[ScalarType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
    one_of(&names)
}

fn read_type(r: &mut Reader, e: &Entry<'_, '_>, spec: &Spec<'_>) -> Option<ScalarType> {
    let name = r.string(e)?;
    if let Some(t) = ScalarType::from_name(&name).filter(|t| spec.types.contains(t)) {
        return Some(t);
    }
    let valid = type_names(spec.types);
    let suggestion = TYPE_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(&name))
        .map(|(_, t)| t.name())
        .filter(|t| spec.types.iter().any(|s| s.name() == *t))
        .or_else(|| super::read::closest(&name, spec.types.iter().map(|t| t.name())));
    let message = if ScalarType::from_name(&name).is_some() {
        format!("{} cannot be a `{name}`: its type is {valid}", spec.what)
    } else {
        format!("unknown type `{name}`: the types are {valid}")
    };
    let d = r.report(Code::S0003, e.span, message);
    d.primary_label = "unknown type".into();
    if let Some(s) = suggestion {
        d.help = Some(format!("did you mean `{s}`?"));
    }
    None
}

fn read_wire(r: &mut Reader, e: &Entry<'_, '_>) -> Option<Wire> {
    match r.string(e)?.as_str() {
        "string" => Some(Wire::String),
        "native" => Some(Wire::Native),
        other => {
            r.report(
                Code::S0003,
                e.span,
                format!("unknown wire form `{other}`: it is `string` or `native`"),
            )
            .primary_label = "unknown wire form".into();
            None
        }
    }
}

fn check_snapshot_path(r: &mut Reader, e: &Entry<'_, '_>) {
    if e.key.split('.').any(|s| s.is_empty() || s.trim() != s) {
        r.report(
            Code::S0003,
            e.key_span,
            format!("`{}` is not a snapshot path", e.key),
        )
        .help = Some("a path is names joined by dots, such as `Message.CaseNumber`".into());
    }
}

fn read_udfs(r: &mut Reader, section: &Entry<'_, '_>, udfs: &mut Vec<Udf>) {
    let DeValue::Array(items) = section.value else {
        r.report(
            Code::S0003,
            section.span,
            format!(
                "`udf` must be a list of tables, not {}",
                kind(section.value)
            ),
        )
        .help = Some("declare each user-defined field under its own `[[udf]]` header".into());
        return;
    };
    // Codes seen so far, with the span of their declaration.
    let mut seen: Vec<(String, Span)> = Vec::new();
    for item in items.iter() {
        let header = Span::from_range(item.span());
        let DeValue::Table(t) = item.get_ref() else {
            r.report(
                Code::S0003,
                header,
                format!("a `udf` must be a table, not {}", kind(item.get_ref())),
            );
            continue;
        };
        let body = entries(t);
        r.unknown_keys(&body, UDF_KEYS, "in `[[udf]]`");
        let code_entry = get(&body, "code");
        let code = code_entry.and_then(|e| r.name(&e));
        if code_entry.is_none() {
            r.report(Code::S0004, header, "a `[[udf]]` has no `code`")
                .help = Some("add `code = \"…\"`: the UDF's code in Aurora".into());
        }
        let name = match get(&body, "name") {
            Some(e) => r.name(&e),
            None => {
                let what = match &code {
                    Some(c) => format!("the UDF `{c}` has no `name`"),
                    None => "a `[[udf]]` has no `name`".into(),
                };
                r.report(Code::S0004, header, what).help =
                    Some("add `name = \"…\"`: the UDF's name as Aurora shows it".into());
                None
            }
        };
        let decl = code_entry.map_or(header, |e| e.key_span.to(e.span));
        let what = match &code {
            Some(c) => format!("the UDF `{c}`"),
            None => "this UDF".into(),
        };
        let spec = Spec {
            what,
            values_key: "values",
            types: &ScalarType::ALL,
            default_type: None,
        };
        let c = read_common(r, &body, header, &spec);
        let Some(code) = code else { continue };
        let code_span = code_entry.map_or(header, |e| e.span);
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == code) {
            let first = *first;
            let file = r.file;
            let d = r.report(
                Code::S0005,
                code_span,
                format!("the UDF code `{code}` is declared twice"),
            );
            d.primary_label = "declared again here".into();
            d.labels.push(Label {
                location: Location { file, span: first },
                message: "first declared here".into(),
            });
            continue;
        }
        seen.push((code.clone(), code_span));
        udfs.push(Udf {
            name: name.unwrap_or_else(|| code.clone()),
            code,
            ty: c.ty,
            values: c.values,
            max_length: c.max_length,
            description: c.description,
            decl: Decl {
                file: r.file,
                span: decl,
            },
        });
    }
}

fn read_udf_wire(r: &mut Reader, body: &[Entry<'_, '_>]) -> UdfWire {
    r.unknown_keys(body, UDF_WIRE_KEYS, "in `[udf_wire]`");
    let mut wire = UdfWire::default();
    for e in body {
        let slot = match e.key {
            "field" => &mut wire.field,
            "code_key" => &mut wire.code_key,
            "value_key" => &mut wire.value_key,
            "snapshot_path" => &mut wire.snapshot_path,
            "snapshot_code_key" => &mut wire.snapshot_code_key,
            "snapshot_value_key" => &mut wire.snapshot_value_key,
            "style" => {
                match r.string(e).as_deref() {
                    Some("list") => wire.style = UdfWireStyle::List,
                    Some("object") => wire.style = UdfWireStyle::Object,
                    Some(other) => {
                        r.report(
                            Code::S0003,
                            e.span,
                            format!("unknown UDF style `{other}`: it is `list` or `object`"),
                        )
                        .primary_label = "unknown style".into();
                    }
                    None => {}
                }
                continue;
            }
            _ => continue,
        };
        if let Some(v) = r.name(e) {
            *slot = v;
        }
    }
    wire
}
