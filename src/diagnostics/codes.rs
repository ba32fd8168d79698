//! The registry of diagnostic codes: each code is defined here once, with its severity, a
//! one-line summary and the long explanation printed by `amap explain`. A code that has
//! shipped is never given another meaning.

use super::Severity;

macro_rules! codes {
    ($( $code:ident, $sev:ident, $summary:literal, $explanation:literal; )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($code,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code),)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$code => Severity::$sev,)* }
            }

            /// One line: what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$code => $summary,)* }
            }

            /// The long explanation, in Markdown, with an example and its fix.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$code => $explanation,)* }
            }
        }
    };
}

impl Code {
    pub fn parse(text: &str) -> Option<Code> {
        let wanted = text.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == wanted)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

codes! {
    E0001, Error, "syntax error", "";
    E0002, Error, "bad string: unterminated, unknown escape, or unclosed `{` placeholder", "";
    E0101, Error, "unknown Connect source or target", "";
    E0102, Error, "unknown Aurora field", "";
    E0103, Error, "unknown reference", "";
    E0104, Error, "unknown table", "";
    E0105, Error, "unknown function, or wrong number of arguments", "";
    E0106, Error, "UDF code or name resolves to nothing", "";
    E0107, Error, "UDF name matches more than one UDF", "";
    E0108, Error, "target not writable, or source not readable, in this kind of template", "";
    E0109, Error, "duplicate template or table name", "";
    E0110, Error, "the same target mapped twice in a template, or a duplicate table key", "";
    E0201, Error, "type mismatch", "";
    E0202, Error, "optional value into a required target", "";
    E0203, Error, "literal not among the target's allowed values", "";
    E0204, Error, "literal longer than the target's `max_length`", "";
    E0205, Error, "table values not allowed by the target, or table key/value type mismatch", "";
    E0206, Error, "dynamic UDF key is not text or choice", "";
    E0207, Error, "invalid date format string", "";
    E0301, Error, "required Aurora field not mapped in a create template", "";
    E0302, Error, "required snapshot field read by no mapping of an incoming template", "";
    W0201, Warning, "`!` or `??` on a value that is never empty", "";
    W0202, Warning, "the source's `max_length` exceeds the target's", "";
    W0401, Warning, "two incoming templates of one reference write the same target", "";
    W0402, Warning, "two create templates store into the same reference", "";
    W0403, Warning, "table never used", "";
    W0404, Warning, "a table keyed by a choice source does not cover all its options", "";
    S0001, Error, "schema or project file is not valid TOML", "";
    S0002, Error, "unknown key in a schema or project file", "";
    S0003, Error, "invalid value in a schema or project file", "";
    S0004, Error, "missing key in a schema or project file", "";
    S0005, Error, "duplicate name in a schema", "";
    S0006, Error, "template pattern matches no file", "";
}
