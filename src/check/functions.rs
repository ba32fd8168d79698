//! The built-in functions: one registry with each function's name, signature, fallibility
//! and documentation. The checker reads signatures from here, `amap explain`/docs and the
//! language server read the docs, and the runtime implements each [`Builtin`] once.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    Text,
    Number,
    Integer,
    Date,
    Datetime,
    Format,
    Upper,
    Lower,
    Trim,
    Truncate,
    Replace,
    Join,
    Phone,
    Lookup,
    Now,
}

/// What an argument position accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// Any scalar.
    Any,
    Text,
    /// `text` or `number` (or `integer`).
    TextOrNumber,
    /// `date`, `datetime` or `number`.
    Formattable,
    /// A literal date format string (checked at compile time).
    DateFormat,
    /// A literal non-negative integer.
    Count,
    /// A table name.
    Table,
}

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

#[derive(Clone, Copy, Debug)]
pub struct FunctionInfo {
    pub builtin: Builtin,
    pub name: &'static str,
    /// The signature as users read it.
    pub signature: &'static str,
    pub params: &'static [Param],
    /// For variadic functions: the type of every argument past `params`.
    pub rest: Option<Param>,
    pub arity: Arity,
    /// A fallible function may fail at run time (a validation error unless caught by `??`).
    pub fallible: bool,
    pub doc: &'static str,
    /// An example call and its result, as text.
    pub example: (&'static str, &'static str),
}

pub const FUNCTIONS: &[FunctionInfo] = &[
    FunctionInfo {
        builtin: Builtin::Text,
        name: "text",
        signature: "text(x: any) -> text",
        params: &[Param::Any],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: false,
        doc: "Formats any scalar as text: dates ISO 8601, numbers without exponent, bools `true`/`false`.",
        example: ("text(42)", "\"42\""),
    },
    FunctionInfo {
        builtin: Builtin::Number,
        name: "number",
        signature: "number(x: text) -> number !",
        params: &[Param::Text],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: true,
        doc: "Parses a decimal number from text (surrounding spaces allowed). Fails on anything else.",
        example: ("number(\" 12.50 \")", "12.5"),
    },
    FunctionInfo {
        builtin: Builtin::Integer,
        name: "integer",
        signature: "integer(x: text | number) -> integer !",
        params: &[Param::TextOrNumber],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: true,
        doc: "Parses a whole number from text, or converts a number with no fractional part. Fails otherwise.",
        example: ("integer(\"0042\")", "42"),
    },
    FunctionInfo {
        builtin: Builtin::Date,
        name: "date",
        signature: "date(x: text, fmt: text) -> date !",
        params: &[Param::Text, Param::DateFormat],
        rest: None,
        arity: Arity::Exactly(2),
        fallible: true,
        doc: "Parses a date from text with a strftime-style format. Fails when the text does not match.",
        example: ("date(\"02/12/2025\", \"%d/%m/%Y\")", "2025-12-02"),
    },
    FunctionInfo {
        builtin: Builtin::Datetime,
        name: "datetime",
        signature: "datetime(x: text, fmt: text) -> datetime !",
        params: &[Param::Text, Param::DateFormat],
        rest: None,
        arity: Arity::Exactly(2),
        fallible: true,
        doc: "Parses a date and time from text with a strftime-style format (UTC unless the format has an offset).",
        example: (
            "datetime(\"02/12/2025 09:46\", \"%d/%m/%Y %H:%M\")",
            "2025-12-02T09:46:00Z",
        ),
    },
    FunctionInfo {
        builtin: Builtin::Format,
        name: "format",
        signature: "format(x: date | datetime | number, fmt: text) -> text",
        params: &[Param::Formattable, Param::DateFormat],
        rest: None,
        arity: Arity::Exactly(2),
        fallible: false,
        doc: "Formats a date or datetime with a strftime-style format; a number with a format of the form `%.Nf` (N decimals).",
        example: ("format(date.reported, \"%d/%m/%Y\")", "\"02/12/2025\""),
    },
    FunctionInfo {
        builtin: Builtin::Upper,
        name: "upper",
        signature: "upper(x: text) -> text",
        params: &[Param::Text],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: false,
        doc: "Upper-cases text (Unicode-aware).",
        example: ("upper(\"ab12 3cd\")", "\"AB12 3CD\""),
    },
    FunctionInfo {
        builtin: Builtin::Lower,
        name: "lower",
        signature: "lower(x: text) -> text",
        params: &[Param::Text],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: false,
        doc: "Lower-cases text (Unicode-aware).",
        example: ("lower(\"HIGH\")", "\"high\""),
    },
    FunctionInfo {
        builtin: Builtin::Trim,
        name: "trim",
        signature: "trim(x: text) -> text",
        params: &[Param::Text],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: false,
        doc: "Removes leading and trailing white space.",
        example: ("trim(\"  pothole \")", "\"pothole\""),
    },
    FunctionInfo {
        builtin: Builtin::Truncate,
        name: "truncate",
        signature: "truncate(x: text, n: integer) -> text",
        params: &[Param::Text, Param::Count],
        rest: None,
        arity: Arity::Exactly(2),
        fallible: false,
        doc: "Keeps at most `n` characters (Unicode scalar values), never splitting a character.",
        example: ("truncate(\"Große Straße\", 5)", "\"Große\""),
    },
    FunctionInfo {
        builtin: Builtin::Replace,
        name: "replace",
        signature: "replace(x: text, from: text, to: text) -> text",
        params: &[Param::Text, Param::Text, Param::Text],
        rest: None,
        arity: Arity::Exactly(3),
        fallible: false,
        doc: "Replaces every occurrence of `from` with `to`.",
        example: ("replace(\"a-b-c\", \"-\", \" \")", "\"a b c\""),
    },
    FunctionInfo {
        builtin: Builtin::Join,
        name: "join",
        signature: "join(sep: text, parts: text...) -> text",
        params: &[Param::Text],
        rest: Some(Param::Text),
        arity: Arity::AtLeast(2),
        fallible: false,
        doc: "Joins the parts with the separator, skipping empty parts; always gives text (never empty-optional).",
        example: (
            "join(\", \", \"1 High St\", \"\", \"Leeds\")",
            "\"1 High St, Leeds\"",
        ),
    },
    FunctionInfo {
        builtin: Builtin::Phone,
        name: "phone",
        signature: "phone(x: text) -> text",
        params: &[Param::Text],
        rest: None,
        arity: Arity::Exactly(1),
        fallible: false,
        doc: "Normalises a phone number as Aurora expects: digits only, a leading `44` becomes `0`.",
        example: ("phone(\"+44 7700 900123\")", "\"07700900123\""),
    },
    FunctionInfo {
        builtin: Builtin::Lookup,
        name: "lookup",
        signature: "lookup(key: K, table: table K -> V) -> V?",
        params: &[Param::Any, Param::Table],
        rest: None,
        arity: Arity::Exactly(2),
        fallible: false,
        doc: "Looks the key up in a table; empty when the key is missing (add `?? default`).",
        example: ("lookup(\"high\", hazard_codes)", "\"H\""),
    },
    FunctionInfo {
        builtin: Builtin::Now,
        name: "now",
        signature: "now() -> datetime",
        params: &[],
        rest: None,
        arity: Arity::Exactly(0),
        fallible: false,
        doc: "The current time (UTC) when the mapping is evaluated.",
        example: ("now()", "2025-12-02T09:46:56Z"),
    },
];

impl Builtin {
    pub fn info(self) -> &'static FunctionInfo {
        FUNCTIONS
            .iter()
            .find(|f| f.builtin == self)
            .expect("every builtin is in FUNCTIONS")
    }

    pub fn by_name(name: &str) -> Option<Builtin> {
        FUNCTIONS.iter().find(|f| f.name == name).map(|f| f.builtin)
    }
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }

    pub fn describe(self) -> String {
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        match self {
            Arity::Exactly(k) => format!("{k} argument{}", plural(k)),
            Arity::AtLeast(k) => format!("at least {k} argument{}", plural(k)),
        }
    }
}

/// The functions' reference as a Markdown table (the source of the table in
/// `docs/language.md`, kept in step by a test).
pub fn reference_markdown() -> String {
    let mut out =
        String::from("| function | fallible | what it does | example |\n|---|---|---|---|\n");
    for f in FUNCTIONS {
        let (call, result) = f.example;
        out.push_str(&format!(
            "| `{}` | {} | {} | `{}` → `{}` |\n",
            f.signature.replace('|', "\\|"),
            if f.fallible { "yes" } else { "" },
            f.doc.replace('|', "\\|"),
            call.replace('|', "\\|"),
            result.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_registered_once_with_its_name() {
        let all = [
            Builtin::Text,
            Builtin::Number,
            Builtin::Integer,
            Builtin::Date,
            Builtin::Datetime,
            Builtin::Format,
            Builtin::Upper,
            Builtin::Lower,
            Builtin::Trim,
            Builtin::Truncate,
            Builtin::Replace,
            Builtin::Join,
            Builtin::Phone,
            Builtin::Lookup,
            Builtin::Now,
        ];
        assert_eq!(FUNCTIONS.len(), all.len());
        for b in all {
            let info = b.info();
            assert_eq!(Builtin::by_name(info.name), Some(b));
            assert!(info.signature.starts_with(info.name));
            assert_eq!(
                info.fallible,
                info.signature.ends_with('!'),
                "{}",
                info.name
            );
        }
    }
}
