//! Run-time values: one scalar type for everything an expression can produce, borrowing
//! from the case, the snapshot or the plan wherever it can, and the rules that read a JSON
//! value as a declared type.

use crate::check::literal::canonical_number;
use crate::schema::ScalarType;
use jiff::Timestamp;
use jiff::civil::Date;
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// A value during evaluation. Numbers are decimals in canonical form (no exponent, no
/// trailing zeros after the point), so no float rounding ever happens.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// No value (a missing or null source, or one holding `""`).
    Empty,
    Text(Cow<'a, str>),
    /// A decimal in canonical form.
    Number(Cow<'a, str>),
    Integer(i64),
    Bool(bool),
    Date(Date),
    Datetime(Timestamp),
}

impl<'a> Scalar<'a> {
    /// Whether this is "empty" as the language means it: no value, or empty text.
    #[inline]
    pub fn is_empty(&self) -> bool {
        match self {
            Scalar::Empty => true,
            Scalar::Text(s) => s.is_empty(),
            _ => false,
        }
    }

    /// The text of a text value (`None` for every other kind).
    #[inline]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Scalar::Empty => "empty",
            Scalar::Text(_) => "text",
            Scalar::Number(_) => "number",
            Scalar::Integer(_) => "integer",
            Scalar::Bool(_) => "bool",
            Scalar::Date(_) => "date",
            Scalar::Datetime(_) => "datetime",
        }
    }

    /// Writes the canonical text form: text as is, numbers without exponent, dates
    /// `YYYY-MM-DD`, datetimes RFC 3339 in UTC, bools `true`/`false`; empty writes nothing.
    pub fn write_canonical<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        match self {
            Scalar::Empty => Ok(()),
            Scalar::Text(s) | Scalar::Number(s) => w.write_str(s),
            Scalar::Integer(i) => write!(w, "{i}"),
            Scalar::Bool(b) => w.write_str(if *b { "true" } else { "false" }),
            Scalar::Date(d) => write!(w, "{d}"),
            Scalar::Datetime(t) => write!(w, "{t}"),
        }
    }

    /// The canonical text form, borrowing when the value is text already.
    pub fn into_text(self) -> Cow<'a, str> {
        match self {
            Scalar::Text(s) | Scalar::Number(s) => s,
            Scalar::Empty => Cow::Borrowed(""),
            Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            other => {
                let mut s = String::new();
                let _ = other.write_canonical(&mut s);
                Cow::Owned(s)
            }
        }
    }

    /// Detaches the value from what it borrows.
    pub fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Empty => Scalar::Empty,
            Scalar::Text(s) => Scalar::Text(Cow::Owned(s.into_owned())),
            Scalar::Number(s) => Scalar::Number(Cow::Owned(s.into_owned())),
            Scalar::Integer(i) => Scalar::Integer(i),
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Date(d) => Scalar::Date(d),
            Scalar::Datetime(t) => Scalar::Datetime(t),
        }
    }

    /// The value as JSON, in its natural type (numbers as JSON numbers where they fit,
    /// dates and datetimes as strings). Empty is `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Empty => serde_json::Value::Null,
            Scalar::Text(s) => serde_json::Value::String(s.to_string()),
            Scalar::Number(s) => s
                .parse::<serde_json::Number>()
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(s.to_string())),
            Scalar::Integer(i) => serde_json::Value::from(*i),
            Scalar::Bool(b) => serde_json::Value::Bool(*b),
            Scalar::Date(_) | Scalar::Datetime(_) => {
                serde_json::Value::String(self.clone().into_text().into_owned())
            }
        }
    }
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_canonical(f)
    }
}

/// Whether `s` is already a canonical decimal (so it can be borrowed as is).
pub fn is_canonical_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = match b.first() {
        Some(b'-') => &b[1..],
        Some(_) => b,
        None => return false,
    };
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(p) => (&digits[..p], Some(&digits[p + 1..])),
        None => (digits, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if int.len() > 1 && int[0] == b'0' {
        return false;
    }
    match frac {
        None => !(b[0] == b'-' && int == b"0"),
        Some(f) => !f.is_empty() && f.iter().all(u8::is_ascii_digit) && f[f.len() - 1] != b'0',
    }
}

/// Reads a decimal from text (surrounding white space allowed, no exponent).
pub fn parse_decimal(s: &str) -> Option<Cow<'_, str>> {
    if is_canonical_decimal(s) {
        return Some(Cow::Borrowed(s));
    }
    canonical_number(s).map(Cow::Owned)
}

/// The canonical decimal of a JSON number (expanding any exponent).
pub fn json_number_decimal(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    expand_exponent(&f.to_string())
}

/// Turns `1.5e-7`, `1e20` or `12.50` into a canonical decimal.
pub fn expand_exponent(s: &str) -> Option<String> {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(p) => (&s[..p], s[p + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() + frac.len() == 0 {
        return None;
    }
    if exp.unsigned_abs() > 400 {
        return None;
    }
    let digits: String = format!("{int}{frac}");
    // The position of the decimal point within `digits`.
    let point = int.len() as i64 + i64::from(exp);
    let mut out = String::with_capacity(digits.len() + 4);
    if negative {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        for _ in 0..(point as usize - digits.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    canonical_number(&out)
}

/// Formats a canonical decimal with exactly `decimals` digits after the point, rounding
/// half away from zero.
pub fn format_fixed(decimal: &str, decimals: usize) -> String {
    let (negative, digits) = match decimal.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, decimal),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    // All digits, scaled by 10^decimals, as a byte vector of ASCII digits.
    let mut kept: Vec<u8> = int.bytes().collect();
    let fb = frac.as_bytes();
    for i in 0..decimals {
        kept.push(*fb.get(i).unwrap_or(&b'0'));
    }
    let round_up = fb.get(decimals).is_some_and(|&d| d >= b'5');
    if round_up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - decimals;
    let mut out = String::with_capacity(kept.len() + 2);
    let is_zero = kept.iter().all(|&d| d == b'0');
    if negative && !is_zero {
        out.push('-');
    }
    let int_part = &kept[..split];
    if int_part.is_empty() {
        out.push('0');
    } else {
        out.extend(int_part.iter().map(|&b| b as char));
    }
    if decimals > 0 {
        out.push('.');
        out.extend(kept[split..].iter().map(|&b| b as char));
    }
    out
}

/// Parses a `YYYY-MM-DD` date (or the date of an RFC 3339 datetime).
pub fn parse_date(s: &str) -> Option<Date> {
    s.trim().parse::<Date>().ok()
}

/// Parses an RFC 3339 datetime with an offset (`2025-12-02T09:46:56.84597Z`), or a bare
/// `YYYY-MM-DD` date as midnight UTC.
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if s.len() == 10 {
        return s.parse::<Date>().ok().and_then(date_to_datetime);
    }
    None
}

/// A date as a datetime at midnight UTC.
pub fn date_to_datetime(d: Date) -> Option<Timestamp> {
    jiff::tz::Offset::UTC
        .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        .ok()
}

/// Why a JSON value does not fit a declared type, in words ("is not a number").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misfit {
    /// The value as the user wrote it (shortened).
    pub shown: String,
    pub expected: ScalarType,
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.expected {
            ScalarType::Text | ScalarType::Choice => "text",
            ScalarType::Number => "a number",
            ScalarType::Integer => "a whole number",
            ScalarType::Bool => "true or false",
            ScalarType::Date => "a date (YYYY-MM-DD)",
            ScalarType::Datetime => "a datetime (RFC 3339, e.g. 2025-12-02T09:46:56Z)",
        };
        write!(f, "holds {}, which is not {what}", self.shown)
    }
}

/// Shows a JSON value in a message, shortened to a readable length.
pub fn show_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => show_text(s),
        serde_json::Value::Array(_) => "a list".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

/// Shows text in quotes, shortened to 60 characters.
pub fn show_text(s: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::with_capacity(s.len().min(MAX * 4) + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads a JSON value as the declared type: the one rule for case fields, dates,
/// references, address numbers and snapshot values. `null` and `""` are empty.
pub fn from_json(v: &serde_json::Value, ty: ScalarType) -> Result<Scalar<'_>, Misfit> {
    use serde_json::Value as J;
    let misfit = || Misfit {
        shown: show_json(v),
        expected: ty,
    };
    match v {
        J::Null => Ok(Scalar::Empty),
        J::String(s) => from_text(s, ty).ok_or_else(misfit),
        J::Number(n) => match ty {
            ScalarType::Text | ScalarType::Choice => json_number_decimal(n)
                .map(|d| Scalar::Text(Cow::Owned(d)))
                .ok_or_else(misfit),
            ScalarType::Number => match n.as_i64() {
                Some(i) => Ok(Scalar::Integer(i)),
                None => json_number_decimal(n)
                    .map(|d| Scalar::Number(Cow::Owned(d)))
                    .ok_or_else(misfit),
            },
            ScalarType::Integer => match n.as_i64() {
                Some(i) => Ok(Scalar::Integer(i)),
                None => json_number_decimal(n)
                    .filter(|d| !d.contains('.'))
                    .and_then(|d| d.parse::<i64>().ok())
                    .map(Scalar::Integer)
                    .ok_or_else(misfit),
            },
            _ => Err(misfit()),
        },
        J::Bool(b) => match ty {
            ScalarType::Bool => Ok(Scalar::Bool(*b)),
            ScalarType::Text | ScalarType::Choice => Ok(Scalar::Text(Cow::Borrowed(if *b {
                "true"
            } else {
                "false"
            }))),
            _ => Err(misfit()),
        },
        J::Array(_) | J::Object(_) => Err(misfit()),
    }
}

/// Reads text as the declared type; `""` is empty. `None` when it does not fit.
pub fn from_text(s: &str, ty: ScalarType) -> Option<Scalar<'_>> {
    if s.is_empty() {
        return Some(Scalar::Empty);
    }
    match ty {
        ScalarType::Text | ScalarType::Choice => Some(Scalar::Text(Cow::Borrowed(s))),
        ScalarType::Number => parse_decimal(s).map(Scalar::Number),
        ScalarType::Integer => parse_integer(s).map(Scalar::Integer),
        ScalarType::Bool => match s.trim() {
            "true" => Some(Scalar::Bool(true)),
            "false" => Some(Scalar::Bool(false)),
            _ => None,
        },
        ScalarType::Date => parse_date(s).map(Scalar::Date),
        ScalarType::Datetime => parse_datetime(s).map(Scalar::Datetime),
    }
}

/// Parses a whole number from text: surrounding white space, a sign and leading zeros
/// allowed; a decimal with only zeros after the point is accepted too.
pub fn parse_integer(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    let d = canonical_number(t)?;
    if d.contains('.') {
        return None;
    }
    d.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_decimals_are_recognised() {
        for s in ["0", "12", "-3", "12.5", "0.25", "-0.5"] {
            assert!(is_canonical_decimal(s), "{s}");
        }
        for s in ["", "-", "012", "12.50", "1.", ".5", "-0", "1e3", " 1", "+1"] {
            assert!(!is_canonical_decimal(s), "{s}");
        }
        assert_eq!(parse_decimal(" 12.50 ").as_deref(), Some("12.5"));
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn exponents_expand() {
        assert_eq!(
            expand_exponent("1e20").as_deref(),
            Some("100000000000000000000")
        );
        assert_eq!(expand_exponent("1.5e-7").as_deref(), Some("0.00000015"));
        assert_eq!(expand_exponent("-2.50").as_deref(), Some("-2.5"));
        assert_eq!(expand_exponent("12.345e1").as_deref(), Some("123.45"));
        assert_eq!(expand_exponent("x"), None);
        assert_eq!(expand_exponent("1e999999"), None);
    }

    #[test]
    fn fixed_formatting_rounds_half_away_from_zero() {
        assert_eq!(format_fixed("12.345", 2), "12.35");
        assert_eq!(format_fixed("12.344", 2), "12.34");
        assert_eq!(format_fixed("9.995", 2), "10.00");
        assert_eq!(format_fixed("-0.004", 2), "0.00");
        assert_eq!(format_fixed("-1.5", 0), "-2");
        assert_eq!(format_fixed("7", 3), "7.000");
        assert_eq!(format_fixed("0.5", 0), "1");
    }

    #[test]
    fn json_values_are_read_as_their_declared_type() {
        assert_eq!(
            from_json(&json!("12.50"), ScalarType::Number),
            Ok(Scalar::Number(Cow::Borrowed("12.5")))
        );
        assert_eq!(
            from_json(&json!(12), ScalarType::Number),
            Ok(Scalar::Integer(12))
        );
        assert_eq!(
            from_json(&json!(1.5e-3), ScalarType::Number),
            Ok(Scalar::Number(Cow::Borrowed("0.0015")))
        );
        assert_eq!(from_json(&json!(""), ScalarType::Number), Ok(Scalar::Empty));
        assert_eq!(from_json(&json!(null), ScalarType::Date), Ok(Scalar::Empty));
        let err = from_json(&json!("abc"), ScalarType::Number).unwrap_err();
        assert_eq!(err.to_string(), "holds \"abc\", which is not a number");
        assert!(from_json(&json!([1]), ScalarType::Text).is_err());
        assert!(from_json(&json!("2025-02-30"), ScalarType::Date).is_err());
        assert_eq!(
            from_json(&json!("2025-12-02"), ScalarType::Datetime)
                .map(|v| v.to_string())
                .as_deref(),
            Ok("2025-12-02T00:00:00Z")
        );
        assert_eq!(
            from_json(&json!(4.0), ScalarType::Integer),
            Ok(Scalar::Integer(4))
        );
        assert!(from_json(&json!(4.5), ScalarType::Integer).is_err());
        assert_eq!(
            from_json(&json!(true), ScalarType::Text),
            Ok(Scalar::Text(Cow::Borrowed("true")))
        );
    }

    #[test]
    fn shown_text_is_quoted_and_shortened() {
        assert_eq!(show_text("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "x".repeat(100);
        assert_eq!(show_text(&long).chars().count(), 63);
    }
}
