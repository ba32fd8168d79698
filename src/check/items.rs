//! The project's item index: tables by name, with their signatures and values, built once
//! for the whole project and consulted by every template check.

use super::hir::Value;
use super::literal::canonical_number;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};
use crate::schema::ScalarType;
use crate::syntax::ast;
use rustc_hash::FxHashMap as HashMap;

/// A table as templates see it.
#[derive(Clone, Debug, PartialEq)]
pub struct TableInfo {
    pub name: String,
    /// Index into the project's (and the bundle's) table list.
    pub index: u32,
    pub key: ScalarType,
    pub value: ScalarType,
    /// Keys and values as text (the form choices are compared in).
    pub keys: Vec<String>,
    pub values: Vec<String>,
    /// The longest value, in characters (for text-valued tables).
    pub max_value_len: Option<u32>,
    pub file: FileId,
    pub name_span: Span,
    /// The span of each value literal, parallel to `values`.
    pub value_spans: Vec<Span>,
}

/// Tables by name; the first declaration of a name wins (later ones are E0109).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Items {
    pub tables: HashMap<String, TableInfo>,
    /// Tables in project order, with their checked entries.
    pub ordered: Vec<(TableInfo, Vec<(Value, Value)>)>,
}

impl Items {
    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.get(name)
    }
}

fn type_of(t: &ast::TypeName, file: FileId, diags: &mut Vec<Diagnostic>) -> Option<ScalarType> {
    match ScalarType::from_name(&t.name) {
        // A table of choices holds text; choices are checked by value where it is used.
        Some(ScalarType::Choice) => Some(ScalarType::Text),
        Some(ty) => Some(ty),
        None => {
            let names: Vec<&str> = ScalarType::ALL.iter().map(|t| t.name()).collect();
            let mut d = Diagnostic::new(
                Code::E0205,
                file,
                t.span,
                format!("`{}` is not a type", t.name),
            )
            .with_primary_label("unknown type")
            .with_help(format!("table types are one of: {}", names.join(", ")));
            if let Some(s) = super::suggest::closest(&t.name, names.iter().copied()) {
                d = d.with_fix(format!("replace with `{s}`"), file, t.span, s);
            }
            diags.push(d);
            None
        }
    }
}

/// Converts a table literal to a value of the declared type.
pub fn literal_value(lit: &ast::LiteralKind, ty: ScalarType) -> Result<Value, String> {
    match (lit, ty) {
        (ast::LiteralKind::Str(s), ScalarType::Text | ScalarType::Choice) => {
            Ok(Value::Text(s.clone()))
        }
        (ast::LiteralKind::Str(s), ScalarType::Date) => jiff::civil::Date::strptime("%Y-%m-%d", s)
            .map(|d| Value::Date(d.to_string()))
            .map_err(|_| format!("\"{s}\" is not a date (write dates as \"YYYY-MM-DD\")")),
        (ast::LiteralKind::Str(s), ScalarType::Datetime) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Value::Datetime(t.to_string()))
            .map_err(|_| {
                format!(
                    "\"{s}\" is not a datetime (write them as RFC 3339, \"2025-12-02T09:46:00Z\")"
                )
            }),
        (ast::LiteralKind::Number(n), ScalarType::Number) => canonical_number(n)
            .map(Value::Number)
            .ok_or_else(|| format!("`{n}` is not a number")),
        (ast::LiteralKind::Number(n), ScalarType::Integer) => n
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("`{n}` is not an integer")),
        (ast::LiteralKind::Bool(b), ScalarType::Bool) => Ok(Value::Bool(*b)),
        (lit, ty) => Err(format!("{} is not a {}", lit.display(), ty.name())),
    }
}

/// The text form of a value, as choices and table keys are compared.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Number(s) | Value::Date(s) | Value::Datetime(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Indexes and checks every table of the project: types, entries (E0205), duplicate keys
/// (E0110) and duplicate names (E0109).
pub fn index_tables(files: &[(FileId, &ast::File)]) -> (Items, Vec<Diagnostic>) {
    let mut items = Items::default();
    let mut diags = Vec::new();
    for (file, ast) in files {
        for item in &ast.items {
            let ast::Item::Table(table) = item else {
                continue;
            };
            if let Some(first) = items.tables.get(&table.name.value) {
                diags.push(
                    Diagnostic::new(
                        Code::E0109,
                        *file,
                        table.name.span,
                        format!("the table `{}` is defined more than once", table.name.value),
                    )
                    .with_primary_label("defined again here")
                    .with_label(first.file, first.name_span, "first defined here")
                    .with_help("table names are unique across the project; rename one of them"),
                );
                continue;
            }
            let key = type_of(&table.key_type, *file, &mut diags);
            let value = type_of(&table.value_type, *file, &mut diags);
            let mut entries = Vec::new();
            let mut seen: HashMap<String, Span> = HashMap::default();
            let (mut keys, mut values, mut value_spans) = (Vec::new(), Vec::new(), Vec::new());
            let mut max_value_len = None::<u32>;
            for entry in &table.entries {
                let k = key.map(|ty| literal_value(&entry.key.kind, ty));
                let v = value.map(|ty| literal_value(&entry.value.kind, ty));
                for (res, lit, which) in [(&k, &entry.key, "key"), (&v, &entry.value, "value")] {
                    if let Some(Err(reason)) = res {
                        diags.push(
                            Diagnostic::new(
                                Code::E0205,
                                *file,
                                lit.span,
                                format!("table `{}`: {reason}", table.name.value),
                            )
                            .with_primary_label(format!(
                                "this {which} does not fit the table's {which} type"
                            ))
                            .with_label(
                                *file,
                                if which == "key" {
                                    table.key_type.span
                                } else {
                                    table.value_type.span
                                },
                                "declared here",
                            ),
                        );
                    }
                }
                if let (Some(Ok(k)), Some(Ok(v))) = (k, v) {
                    let kt = value_text(&k);
                    if let Some(first) = seen.get(&kt) {
                        diags.push(
                            Diagnostic::new(
                                Code::E0110,
                                *file,
                                entry.key.span,
                                format!(
                                    "the key {} appears twice in table `{}`",
                                    entry.key.kind.display(),
                                    table.name.value
                                ),
                            )
                            .with_primary_label("duplicate key")
                            .with_label(*file, *first, "first used here")
                            .with_help("each key maps to one value; remove one of the entries"),
                        );
                        continue;
                    }
                    seen.insert(kt.clone(), entry.key.span);
                    let vt = value_text(&v);
                    if matches!(v, Value::Text(_)) {
                        let n = vt.chars().count() as u32;
                        max_value_len = Some(max_value_len.map_or(n, |m| m.max(n)));
                    }
                    keys.push(kt);
                    values.push(vt);
                    value_spans.push(entry.value.span);
                    entries.push((k, v));
                }
            }
            let info = TableInfo {
                name: table.name.value.clone(),
                index: items.ordered.len() as u32,
                key: key.unwrap_or(ScalarType::Text),
                value: value.unwrap_or(ScalarType::Text),
                keys,
                values,
                max_value_len,
                file: *file,
                name_span: table.name.span,
                value_spans,
            };
            items.tables.insert(info.name.clone(), info.clone());
            items.ordered.push((info, entries));
        }
    }
    (items, diags)
}
