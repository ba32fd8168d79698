//! Types as the checker sees them: a scalar, whether it may be empty, whether it may fail at
//! run time, and what is known statically about its values and length.

use crate::schema::ScalarType;

/// Where a statically known value came from (decides E0203 vs E0205).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A literal written in the template.
    Literal,
    /// An option of a choice source.
    Option,
    /// A value of the named table.
    Table(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ty {
    pub scalar: ScalarType,
    /// May be empty at run time.
    pub optional: bool,
    /// May fail at run time (an uncaught fallible function).
    pub fallible: bool,
    /// The declared or known maximum length in characters.
    pub max_len: Option<u32>,
    /// Every value it can take, when known at compile time.
    pub values: Option<Vec<(String, Origin)>>,
}

impl Ty {
    pub fn new(scalar: ScalarType) -> Ty {
        Ty {
            scalar,
            optional: false,
            fallible: false,
            max_len: None,
            values: None,
        }
    }

    pub fn optional(mut self, optional: bool) -> Ty {
        self.optional = optional;
        self
    }

    pub fn with_max_len(mut self, max_len: Option<u32>) -> Ty {
        self.max_len = max_len;
        self
    }

    pub fn with_values(mut self, values: impl IntoIterator<Item = String>, origin: Origin) -> Ty {
        self.values = Some(values.into_iter().map(|v| (v, origin.clone())).collect());
        self
    }

    /// The type as users read it (`text?`, `choice`).
    pub fn describe(&self) -> String {
        format!(
            "{}{}",
            self.scalar.name(),
            if self.optional { "?" } else { "" }
        )
    }

    pub fn is_textual(&self) -> bool {
        matches!(self.scalar, ScalarType::Text | ScalarType::Choice)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.scalar, ScalarType::Number | ScalarType::Integer)
    }
}

/// Whether a value of scalar `from` may be used where `to` is expected, with the implicit
/// conversions of the language (`integer → number`, `date → datetime`, `choice → text`).
/// Choice targets are checked by value elsewhere; here a text value fits a choice only when
/// the caller has checked its values.
pub fn converts(from: ScalarType, to: ScalarType) -> bool {
    use ScalarType::*;
    from == to
        || matches!(
            (from, to),
            (Integer, Number) | (Date, Datetime) | (Choice, Text) | (Text, Choice)
        )
}

/// The common type of two branches (`if`, `??`), if they have one.
pub fn unify(a: ScalarType, b: ScalarType) -> Option<ScalarType> {
    use ScalarType::*;
    if a == b {
        return Some(a);
    }
    match (a, b) {
        (Integer, Number) | (Number, Integer) => Some(Number),
        (Date, Datetime) | (Datetime, Date) => Some(Datetime),
        (Choice, Text) | (Text, Choice) => Some(Text),
        _ => None,
    }
}

/// The conversion users should write to turn `from` into `to`, for help lines.
pub fn conversion_help(from: ScalarType, to: ScalarType, expr: &str) -> Option<String> {
    use ScalarType::*;
    let s = match (from, to) {
        (Text | Choice, Number) => format!(
            "convert it with `number({expr})` (fails at run time on non-numbers; add `?? 0` to default)"
        ),
        (Text | Choice, Integer) => format!("convert it with `integer({expr})`"),
        (Number, Integer) => format!("convert it with `integer({expr})`"),
        (Text | Choice, Date) => format!("parse it with `date({expr}, \"%d/%m/%Y\")`"),
        (Text | Choice, Datetime) => {
            format!("parse it with `datetime({expr}, \"%d/%m/%Y %H:%M\")`")
        }
        (Date | Datetime, Text | Choice) => {
            format!("format it with `format({expr}, \"%d/%m/%Y\")`")
        }
        (Datetime, Date) => format!(
            "format and re-parse it, e.g. `date(format({expr}, \"%Y-%m-%d\"), \"%Y-%m-%d\")`"
        ),
        (Number | Integer | Bool, Text) => format!("convert it with `text({expr})`"),
        (Number | Integer | Bool, Choice) => {
            format!("map it through a table: `lookup(text({expr}), my_table)`")
        }
        _ => return None,
    };
    Some(s)
}
