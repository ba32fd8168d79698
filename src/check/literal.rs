//! Literal values: canonical numbers, and the validation of date format strings.

/// The canonical form of a decimal literal: no `+`, no leading zeros, no trailing zeros
/// after the point, no exponent. `None` if `text` is not a decimal.
pub fn canonical_number(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(text.len() + 1);
    if negative && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Checks a strftime-style date format. `Err` says what is wrong, in words.
pub fn check_date_format(fmt: &str) -> Result<(), String> {
    if fmt.is_empty() {
        return Err("the format is empty".into());
    }
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        // Flags, width, then an optional `:` or `.` modifier, then the specifier.
        while matches!(chars.peek(), Some('-' | '_' | '0' | '^' | '#')) {
            chars.next();
        }
        while matches!(chars.peek(), Some(d) if d.is_ascii_digit()) {
            chars.next();
        }
        if matches!(chars.peek(), Some(':' | '.')) {
            chars.next();
            while matches!(chars.peek(), Some(d) if d.is_ascii_digit()) {
                chars.next();
            }
        }
        match chars.next() {
            None => return Err("the format ends with a lone `%`".into()),
            Some(s) if "aAbBcCdDeFfhHIjklmMnNpPqQrRsStTuUVwWyYzZ%".contains(s) => {}
            Some(s) => {
                return Err(format!(
                    "`%{s}` is not a date format specifier (use e.g. `%d/%m/%Y`, `%H:%M`, `%Y-%m-%dT%H:%M:%S%z`)"
                ));
            }
        }
    }
    Ok(())
}

/// Checks a number format (`%.Nf`, N from 0 to 9).
pub fn check_number_format(fmt: &str) -> Result<(), String> {
    let ok = fmt
        .strip_prefix("%.")
        .and_then(|r| r.strip_suffix('f'))
        .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{fmt}` is not a number format; numbers are formatted with `%.Nf` (N decimals, 0 to 9)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_number("12.50").as_deref(), Some("12.5"));
        assert_eq!(canonical_number("007").as_deref(), Some("7"));
        assert_eq!(canonical_number("-0.0").as_deref(), Some("0"));
        assert_eq!(canonical_number("+.5").as_deref(), Some("0.5"));
        assert_eq!(canonical_number("1e3"), None);
        assert_eq!(canonical_number("."), None);
        assert_eq!(canonical_number(""), None);
    }

    #[test]
    fn date_formats() {
        assert!(check_date_format("%d/%m/%Y").is_ok());
        assert!(check_date_format("%Y-%m-%dT%H:%M:%S%.3f%:z").is_ok());
        assert!(check_date_format("%-d %B %Y").is_ok());
        assert!(check_date_format("%Q%").is_err());
        assert!(check_date_format("%J").unwrap_err().contains("%J"));
        assert!(check_date_format("").is_err());
    }

    #[test]
    fn number_formats() {
        assert!(check_number_format("%.2f").is_ok());
        assert!(check_number_format("%d").is_err());
        assert!(check_number_format("%.10f").is_err());
    }
}
