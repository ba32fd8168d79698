//! The built-in functions, each implemented once. A function that produces text has one
//! implementation that writes into a [`Sink`] (so it can stream straight into the output)
//! and a value-returning front that borrows its input when the text is unchanged.
//!
//! Every function applied to an empty value gives empty, except `join`, which skips empty
//! parts. Fallible functions return `Err(reason)`, the reason in words.

use super::json::{PlainText, Sink};
use super::prepare::{PreparedTable, itoa};
use super::value::{
    Scalar, date_to_datetime, format_fixed, parse_decimal, parse_integer, show_text,
};
use crate::check::functions::Builtin;
use jiff::Timestamp;
use jiff::fmt::StdFmtWrite;
use jiff::fmt::strtime::{self, BrokenDownTime};
use std::borrow::Cow;

/// Builds owned text through the function's streaming implementation.
fn collect(f: impl FnOnce(&mut dyn Sink)) -> String {
    let mut s = String::new();
    f(&mut PlainText { out: &mut s });
    s
}

fn text_or_empty(s: String) -> Scalar<'static> {
    if s.is_empty() {
        Scalar::Empty
    } else {
        Scalar::Text(Cow::Owned(s))
    }
}

// ---- text(x) ----

/// `text(x)`: the canonical text of any scalar.
pub fn text(x: Scalar<'_>) -> Scalar<'_> {
    match x {
        Scalar::Empty => Scalar::Empty,
        Scalar::Text(s) | Scalar::Number(s) => Scalar::Text(s),
        other => Scalar::Text(other.into_text()),
    }
}

// ---- number(x) ----

/// `number(x)`: a decimal from text (surrounding white space allowed).
pub fn number(x: Scalar<'_>) -> Result<Scalar<'_>, String> {
    match x {
        Scalar::Text(Cow::Borrowed(s)) => parse_decimal(s)
            .map(Scalar::Number)
            .ok_or_else(|| format!("{} is not a number", show_text(s))),
        Scalar::Text(Cow::Owned(s)) => match parse_decimal(&s) {
            Some(d) => Ok(Scalar::Number(Cow::Owned(d.into_owned()))),
            None => Err(format!("{} is not a number", show_text(&s))),
        },
        other => Ok(other),
    }
}

// ---- integer(x) ----

/// `integer(x)`: a whole number from text, or from a number with no fractional part.
pub fn integer(x: Scalar<'_>) -> Result<Scalar<'_>, String> {
    match x {
        Scalar::Text(s) => parse_integer(&s)
            .map(Scalar::Integer)
            .ok_or_else(|| format!("{} is not a whole number", show_text(&s))),
        Scalar::Number(s) => s
            .parse::<i64>()
            .map(Scalar::Integer)
            .map_err(|_| format!("{s} is not a whole number")),
        other => Ok(other),
    }
}

// ---- date(x, fmt) and datetime(x, fmt) ----

/// `date(x, fmt)`: a date parsed with a strftime-style format.
pub fn date<'a>(x: Scalar<'a>, fmt: &str) -> Result<Scalar<'a>, String> {
    let s = match &x {
        Scalar::Text(s) => s,
        _ => return Ok(x),
    };
    strtime::parse(fmt, s.as_bytes())
        .and_then(|tm| tm.to_date())
        .map(Scalar::Date)
        .map_err(|_| format!("{} is not a date in the form {fmt}", show_text(s)))
}

/// `datetime(x, fmt)`: a datetime parsed with a strftime-style format, in UTC unless the
/// format reads an offset.
pub fn datetime<'a>(x: Scalar<'a>, fmt: &str) -> Result<Scalar<'a>, String> {
    let s = match &x {
        Scalar::Text(s) => s,
        Scalar::Date(d) => {
            return date_to_datetime(*d)
                .map(Scalar::Datetime)
                .ok_or_else(|| format!("{d} is out of range"));
        }
        _ => return Ok(x),
    };
    let err = || format!("{} is not a datetime in the form {fmt}", show_text(s));
    let tm = strtime::parse(fmt, s.as_bytes()).map_err(|_| err())?;
    let ts = if tm.offset().is_some() {
        tm.to_timestamp()
    } else {
        tm.to_datetime()
            .and_then(|dt| jiff::tz::Offset::UTC.to_timestamp(dt))
    };
    ts.map(Scalar::Datetime).map_err(|_| err())
}

// ---- format(x, fmt) ----

/// The decimals of a number format `%.Nf`, if `fmt` is one.
pub fn number_format_decimals(fmt: &str) -> Option<u8> {
    let n = fmt.strip_prefix("%.")?.strip_suffix('f')?;
    match n.as_bytes() {
        [d] if d.is_ascii_digit() => Some(d - b'0'),
        _ => None,
    }
}

/// `format(x, fmt)` into a sink: dates and datetimes (in UTC) with strftime specifiers,
/// numbers with `%.Nf` (rounding half away from zero). A format that cannot apply to the
/// value writes the value's canonical text instead.
pub fn format_into(x: &Scalar<'_>, fmt: &str, decimals: Option<u8>, w: &mut dyn Sink) {
    let mark = w.mark();
    let ok = match x {
        Scalar::Empty => true,
        Scalar::Number(s) => match decimals {
            Some(n) => w.write_str(&format_fixed(s, usize::from(n))).is_ok(),
            None => false,
        },
        Scalar::Integer(i) => match decimals {
            Some(n) => {
                let mut buf = [0u8; 20];
                w.write_str(&format_fixed(itoa(*i, &mut buf), usize::from(n)))
                    .is_ok()
            }
            None => false,
        },
        Scalar::Date(d) => BrokenDownTime::from(d.to_datetime(jiff::civil::Time::midnight()))
            .format(fmt, StdFmtWrite(&mut *w))
            .is_ok(),
        Scalar::Datetime(t) => BrokenDownTime::from(*t)
            .format(fmt, StdFmtWrite(&mut *w))
            .is_ok(),
        Scalar::Text(_) | Scalar::Bool(_) => false,
    };
    if !ok {
        w.reset(mark);
        let _ = x.write_canonical(w);
    }
}

/// `format(x, fmt)`.
pub fn format<'a>(x: Scalar<'a>, fmt: &str, decimals: Option<u8>) -> Scalar<'a> {
    if x.is_empty() {
        return Scalar::Empty;
    }
    text_or_empty(collect(|w| format_into(&x, fmt, decimals, w)))
}

// ---- upper(x) and lower(x) ----

/// Writes `s` mapped character by character, in chunks.
fn map_chars_into(s: &str, w: &mut dyn Sink, upper: bool) {
    let mut buf = [0u8; 128];
    let mut len = 0;
    for c in s.chars() {
        if len + 16 > buf.len() {
            let _ = w.write_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
            len = 0;
        }
        if c.is_ascii() {
            buf[len] = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            } as u8;
            len += 1;
        } else if upper {
            for u in c.to_uppercase() {
                len += u.encode_utf8(&mut buf[len..]).len();
            }
        } else {
            for u in c.to_lowercase() {
                len += u.encode_utf8(&mut buf[len..]).len();
            }
        }
    }
    let _ = w.write_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
}

/// `upper(x)` into a sink (Unicode-aware).
pub fn upper_into(s: &str, w: &mut dyn Sink) {
    map_chars_into(s, w, true);
}

/// `upper(x)`.
pub fn upper(x: Scalar<'_>) -> Scalar<'_> {
    match x {
        Scalar::Text(s) if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase()) => {
            Scalar::Text(s)
        }
        Scalar::Text(s) => text_or_empty(collect(|w| upper_into(&s, w))),
        other => other,
    }
}

/// `lower(x)` into a sink (Unicode-aware, with the final-sigma rule).
pub fn lower_into(s: &str, w: &mut dyn Sink) {
    if s.contains('Σ') {
        let _ = w.write_str(&s.to_lowercase());
    } else {
        map_chars_into(s, w, false);
    }
}

/// `lower(x)`.
pub fn lower(x: Scalar<'_>) -> Scalar<'_> {
    match x {
        Scalar::Text(s) if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) => {
            Scalar::Text(s)
        }
        Scalar::Text(s) => text_or_empty(collect(|w| lower_into(&s, w))),
        other => other,
    }
}

// ---- trim(x) ----

/// `trim(x)`: without leading and trailing white space.
pub fn trim(x: Scalar<'_>) -> Scalar<'_> {
    match x {
        Scalar::Text(Cow::Borrowed(s)) => Scalar::Text(Cow::Borrowed(s.trim())),
        Scalar::Text(Cow::Owned(s)) => Scalar::Text(Cow::Owned(s.trim().to_string())),
        other => other,
    }
}

// ---- truncate(x, n) ----

/// The first `n` characters of `s`.
pub fn truncate_str(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    match s.char_indices().nth(n) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// `truncate(x, n)`: at most `n` characters, never splitting one.
pub fn truncate(x: Scalar<'_>, n: usize) -> Scalar<'_> {
    match x {
        Scalar::Text(Cow::Borrowed(s)) => Scalar::Text(Cow::Borrowed(truncate_str(s, n))),
        Scalar::Text(Cow::Owned(mut s)) => {
            let keep = truncate_str(&s, n).len();
            s.truncate(keep);
            Scalar::Text(Cow::Owned(s))
        }
        other => other,
    }
}

// ---- replace(x, from, to) ----

/// `replace(x, from, to)` into a sink. An empty `from` replaces nothing.
pub fn replace_into(s: &str, from: &str, to: &str, w: &mut dyn Sink) {
    if from.is_empty() {
        let _ = w.write_str(s);
        return;
    }
    let mut last = 0;
    for (at, _) in s.match_indices(from) {
        let _ = w.write_str(&s[last..at]);
        let _ = w.write_str(to);
        last = at + from.len();
    }
    let _ = w.write_str(&s[last..]);
}

/// `replace(x, from, to)`.
pub fn replace<'a>(x: Scalar<'a>, from: &str, to: &str) -> Scalar<'a> {
    match x {
        Scalar::Text(s) if from.is_empty() || !s.contains(from) => Scalar::Text(s),
        Scalar::Text(s) => text_or_empty(collect(|w| replace_into(&s, from, to, w))),
        other => other,
    }
}

// ---- join(sep, parts...) ----

/// `join(sep, parts…)` written part by part: empty parts are skipped.
#[derive(Default)]
pub struct Join {
    any: bool,
}

impl Join {
    pub fn push(&mut self, sep: &str, part: &Scalar<'_>, w: &mut dyn Sink) {
        if part.is_empty() {
            return;
        }
        if self.any {
            let _ = w.write_str(sep);
        }
        self.any = true;
        let _ = part.write_canonical(w);
    }
}

/// `join(sep, parts…)`.
pub fn join<'a>(sep: &str, parts: impl IntoIterator<Item = Scalar<'a>>) -> Scalar<'a> {
    let mut j = Join::default();
    let mut s = String::new();
    {
        let mut w = PlainText { out: &mut s };
        for p in parts {
            j.push(sep, &p, &mut w);
        }
    }
    text_or_empty(s)
}

// ---- phone(x) ----

/// `phone(x)` into a sink: the digits only, a leading `44` written as `0`.
pub fn phone_into(s: &str, w: &mut dyn Sink) {
    let b = s.as_bytes();
    let mut digits_seen = 0usize;
    let mut first_two = [0u8; 2];
    let mut i = 0;
    // The first two digits decide the prefix; write them once known.
    while i < b.len() && digits_seen < 2 {
        if b[i].is_ascii_digit() {
            first_two[digits_seen] = b[i];
            digits_seen += 1;
        }
        i += 1;
    }
    match (digits_seen, first_two) {
        (2, [b'4', b'4']) => {
            let _ = w.write_char('0');
        }
        (n, d) => {
            let _ = w.write_str(std::str::from_utf8(&d[..n]).unwrap_or_default());
        }
    }
    // The rest: runs of digits as slices.
    let mut run = i;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            if run < i {
                let _ = w.write_str(&s[run..i]);
            }
            run = i + 1;
        }
        i += 1;
    }
    if run < b.len() {
        let _ = w.write_str(&s[run..]);
    }
}

/// `phone(x)`.
pub fn phone(x: Scalar<'_>) -> Scalar<'_> {
    match x {
        Scalar::Text(s) if s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with("44") => {
            Scalar::Text(s)
        }
        Scalar::Text(s) => text_or_empty(collect(|w| phone_into(&s, w))),
        other => other,
    }
}

// ---- lookup(key, table) ----

/// `lookup(key, table)`: the table's value for the key, or empty.
pub fn lookup<'a>(table: &'a PreparedTable, key: &Scalar<'_>) -> Scalar<'a> {
    if key.is_empty() {
        return Scalar::Empty;
    }
    table.get(key).map_or(Scalar::Empty, |v| v.scalar())
}

// ---- now() ----

/// `now()`: the time given to the evaluation.
pub fn now(at: Timestamp) -> Scalar<'static> {
    Scalar::Datetime(at)
}

/// Applies a function to evaluated arguments. Literal arguments (formats, counts, the
/// table) are passed as values; `table` is the table of a `lookup`.
pub fn apply<'a>(
    func: Builtin,
    mut args: Vec<Scalar<'a>>,
    table: Option<&'a PreparedTable>,
    at: Timestamp,
) -> Result<Scalar<'a>, String> {
    let arity = func.info().arity;
    if !arity.accepts(args.len()) && func != Builtin::Lookup {
        return Err(format!("`{}` takes {}", func.info().name, arity.describe()));
    }
    let literal_text = |v: &Scalar<'_>| v.clone().into_text().into_owned();
    if func == Builtin::Join {
        let sep = literal_text(&args[0]);
        return Ok(join(&sep, args.drain(1..)));
    }
    let mut it = args.into_iter();
    let mut next = || it.next().unwrap_or(Scalar::Empty);
    let x = next();
    Ok(match func {
        Builtin::Text => text(x),
        Builtin::Number => number(x)?,
        Builtin::Integer => integer(x)?,
        Builtin::Date => date(x, &literal_text(&next()))?,
        Builtin::Datetime => datetime(x, &literal_text(&next()))?,
        Builtin::Format => {
            let fmt = literal_text(&next());
            let decimals = number_format_decimals(&fmt);
            format(x, &fmt, decimals)
        }
        Builtin::Upper => upper(x),
        Builtin::Lower => lower(x),
        Builtin::Trim => trim(x),
        Builtin::Truncate => match next() {
            Scalar::Integer(n) => truncate(x, usize::try_from(n).unwrap_or(0)),
            _ => return Err("`truncate` takes a count".into()),
        },
        Builtin::Replace => {
            let from = literal_text(&next());
            let to = literal_text(&next());
            replace(x, &from, &to)
        }
        Builtin::Phone => phone(x),
        Builtin::Lookup => match table {
            Some(t) => lookup(t, &x),
            None => return Err("`lookup` takes a table".into()),
        },
        Builtin::Now => now(at),
        Builtin::Join => Scalar::Empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::functions::FUNCTIONS;
    use crate::check::hir;
    use crate::plan::TablePlan;
    use crate::schema::ScalarType;

    /// The table of the language reference's examples.
    fn hazard_codes() -> PreparedTable {
        let e = |k: &str, v: &str| (hir::Value::Text(k.into()), hir::Value::Text(v.into()));
        PreparedTable::new(&TablePlan {
            name: "hazard_codes".into(),
            key_type: ScalarType::Text,
            value_type: ScalarType::Text,
            entries: vec![e("low", "L"), e("medium", "M"), e("high", "H")],
        })
        .unwrap()
    }

    /// Parses the arguments of an example call: string and number literals, `date.reported`
    /// (2 December 2025) and table names.
    fn example_args(call: &str) -> (String, Vec<Scalar<'static>>, bool) {
        let open = call.find('(').unwrap();
        let name = call[..open].to_string();
        let inner = &call[open + 1..call.len() - 1];
        let mut args = Vec::new();
        let mut uses_table = false;
        let mut rest = inner.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('"') {
                let end = after.find('"').unwrap();
                args.push(Scalar::Text(Cow::Owned(after[..end].to_string())));
                rest = after[end + 1..].trim_start();
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                let token = rest[..end].trim();
                if token == "date.reported" {
                    args.push(Scalar::Date("2025-12-02".parse().unwrap()));
                } else if let Ok(i) = token.parse::<i64>() {
                    args.push(Scalar::Integer(i));
                } else {
                    assert_eq!(token, "hazard_codes", "unknown example argument");
                    uses_table = true;
                }
                rest = rest[end..].trim_start();
            }
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        (name, args, uses_table)
    }

    #[test]
    fn every_registry_example_holds() {
        let table = hazard_codes();
        let at: Timestamp = "2025-12-02T09:46:56Z".parse().unwrap();
        for f in FUNCTIONS {
            let (call, expected) = f.example;
            let (name, args, uses_table) = example_args(call);
            assert_eq!(name, f.name, "{call}");
            let result = apply(f.builtin, args, uses_table.then_some(&table), at)
                .unwrap_or_else(|e| panic!("{call} failed: {e}"));
            let shown = match &result {
                Scalar::Text(s) => serde_json::to_string(s.as_ref()).unwrap(),
                other => other.to_string(),
            };
            assert_eq!(shown, expected, "{call}");
        }
    }

    #[test]
    fn functions_on_empty_give_empty_except_join() {
        let at = Timestamp::UNIX_EPOCH;
        for f in FUNCTIONS {
            let mut args = vec![Scalar::Empty];
            match f.builtin {
                Builtin::Now | Builtin::Lookup => continue,
                Builtin::Join => args = vec![Scalar::Text(", ".into()), Scalar::Empty],
                Builtin::Date | Builtin::Datetime | Builtin::Format => {
                    args.push(Scalar::Text("%Y".into()))
                }
                Builtin::Truncate => args.push(Scalar::Integer(3)),
                Builtin::Replace => {
                    args.push(Scalar::Text("a".into()));
                    args.push(Scalar::Text("b".into()));
                }
                _ => {}
            }
            let r = apply(f.builtin, args, None, at).unwrap();
            assert!(r.is_empty(), "{}: {r:?}", f.name);
        }
        assert_eq!(lookup(&hazard_codes(), &Scalar::Empty), Scalar::Empty);
        assert_eq!(
            lookup(&hazard_codes(), &Scalar::Text("none".into())),
            Scalar::Empty
        );
    }

    #[test]
    fn fallible_functions_say_why_they_failed() {
        assert_eq!(
            number(Scalar::Text("abc".into())).unwrap_err(),
            "\"abc\" is not a number"
        );
        assert_eq!(
            integer(Scalar::Number("12.5".into())).unwrap_err(),
            "12.5 is not a whole number"
        );
        assert_eq!(
            integer(Scalar::Text("99999999999999999999".into())).unwrap_err(),
            "\"99999999999999999999\" is not a whole number"
        );
        assert_eq!(
            date(Scalar::Text("31/02/2025".into()), "%d/%m/%Y").unwrap_err(),
            "\"31/02/2025\" is not a date in the form %d/%m/%Y"
        );
        assert!(datetime(Scalar::Text("x".into()), "%Y").is_err());
    }

    #[test]
    fn text_functions_borrow_when_nothing_changes() {
        let borrowed = |v: &Scalar<'_>| matches!(v, Scalar::Text(Cow::Borrowed(_)));
        assert!(borrowed(&upper(Scalar::Text("AB 12".into()))));
        assert!(borrowed(&lower(Scalar::Text("ab 12".into()))));
        assert!(borrowed(&trim(Scalar::Text(" a ".into()))));
        assert!(borrowed(&truncate(Scalar::Text("Große".into()), 3)));
        assert!(borrowed(&phone(Scalar::Text("07700900123".into()))));
        assert!(borrowed(&replace(Scalar::Text("abc".into()), "x", "y")));
    }

    #[test]
    fn text_functions_handle_unicode_and_edges() {
        let t = |v: Scalar<'_>| v.to_string();
        assert_eq!(t(upper(Scalar::Text("straße ǆ".into()))), "STRASSE Ǆ");
        assert_eq!(t(lower(Scalar::Text("ΣΑΣ".into()))), "σας");
        assert_eq!(t(truncate(Scalar::Text("😀😀😀".into()), 2)), "😀😀");
        assert_eq!(t(truncate(Scalar::Text("abc".into()), 0)), "");
        assert_eq!(t(replace(Scalar::Text("aaa".into()), "", "b")), "aaa");
        assert_eq!(t(replace(Scalar::Text("a\nb\n".into()), "\n", " ")), "a b ");
        assert_eq!(
            t(phone(Scalar::Text("(0113) 496-0000".into()))),
            "01134960000"
        );
        assert_eq!(t(phone(Scalar::Text("0044 113".into()))), "0044113");
        assert_eq!(t(phone(Scalar::Text("4".into()))), "4");
        assert_eq!(phone(Scalar::Text("n/a".into())), Scalar::Empty);
        let long = "x".repeat(300) + "ä";
        assert_eq!(
            t(upper(Scalar::Text(long.as_str().into()))),
            long.to_uppercase()
        );
        assert_eq!(
            t(join(
                "-",
                [Scalar::Empty, Scalar::Text("a".into()), Scalar::Integer(3)]
            )),
            "a-3"
        );
        assert_eq!(join(", ", [Scalar::Empty]), Scalar::Empty);
    }

    #[test]
    fn formats_apply_to_dates_datetimes_and_numbers() {
        let d = Scalar::Date("2025-12-02".parse().unwrap());
        assert_eq!(
            format(d.clone(), "%d/%m/%Y %H:%M", None).to_string(),
            "02/12/2025 00:00"
        );
        let ts = Scalar::Datetime("2025-12-02T09:46:56.84597Z".parse().unwrap());
        assert_eq!(
            format(ts, "%Y-%m-%d %H:%M:%S %z", None).to_string(),
            "2025-12-02 09:46:56 +0000"
        );
        assert_eq!(
            format(Scalar::Number("2.345".into()), "%.2f", Some(2)).to_string(),
            "2.35"
        );
        assert_eq!(
            format(Scalar::Integer(7), "%.1f", Some(1)).to_string(),
            "7.0"
        );
        // A format that does not fit the value gives its canonical text.
        assert_eq!(
            format(Scalar::Number("2.5".into()), "%Y", None).to_string(),
            "2.5"
        );
        assert_eq!(number_format_decimals("%.2f"), Some(2));
        assert_eq!(number_format_decimals("%d"), None);
        let parsed = datetime(
            Scalar::Text("02/12/2025 09:46 +0100".into()),
            "%d/%m/%Y %H:%M %z",
        );
        assert_eq!(parsed.unwrap().to_string(), "2025-12-02T08:46:00Z");
    }
}
