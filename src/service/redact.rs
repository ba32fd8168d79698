//! Keeping secrets out of the integration log.
//!
//! Failure reasons often quote an upstream answer or a request. Before a reason is stored,
//! [`redact`] masks what looks like a credential: bearer tokens, and the values of keys such as
//! `password`, `client_secret`, `access_token`, `api_key` or `sig` (an Azure SAS signature), whether
//! written as `key=value` (query strings, form bodies) or `"key": "value"` (JSON). It also bounds the
//! length of the reason.

/// Longest reason kept, in characters; longer ones are cut with an ellipsis.
pub const MAX_REASON_CHARS: usize = 2000;

const MASK: &str = "[redacted]";

/// Key names whose values are never logged (compared case-insensitively, ignoring `-` and `_`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "clientsecret",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "token",
    "apikey",
    "authorization",
    "sig",
    "signature",
    "sas",
];

fn is_secret_key(key: &str) -> bool {
    let normalised: String = key
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.contains(&normalised.as_str())
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Masks credentials in `text` and bounds its length.
pub fn redact(text: &str) -> String {
    let masked = mask_values(&mask_bearer(text));
    if masked.chars().count() > MAX_REASON_CHARS {
        let mut cut: String = masked.chars().take(MAX_REASON_CHARS).collect();
        cut.push('…');
        cut
    } else {
        masked
    }
}

/// `Bearer xyz` / `Basic xyz` → `Bearer [redacted]`.
fn mask_bearer(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let found = ["bearer ", "basic "]
            .iter()
            .filter_map(|scheme| lower.find(scheme).map(|at| (at, scheme.len())))
            .min();
        let Some((at, len)) = found else {
            out.push_str(rest);
            return out;
        };
        let after = at + len;
        out.push_str(&rest[..after]);
        let token_len = rest[after..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(rest.len() - after);
        if token_len > 0 {
            out.push_str(MASK);
        }
        rest = &rest[after + token_len..];
    }
}

/// `password=xyz`, `"password": "xyz"`, `password: xyz` → the value masked.
fn mask_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let bytes_len = text.len();
    let mut last = 0;
    while let Some((start, c)) = chars.next() {
        if !is_key_char(c) {
            continue;
        }
        // Only start a key at a word boundary.
        if text[..start].chars().next_back().is_some_and(is_key_char) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if is_key_char(c) {
                end = i + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        if !is_secret_key(&text[start..end]) {
            continue;
        }
        // After the key: an optional closing quote, spaces, then `=` or `:`.
        let mut pos = end;
        let rest = &text[pos..];
        let skip_quote = usize::from(rest.starts_with('"') || rest.starts_with('\''));
        pos += skip_quote;
        pos += text[pos..].len() - text[pos..].trim_start().len();
        let Some(sep) = text[pos..].chars().next() else {
            continue;
        };
        if sep != '=' && sep != ':' {
            continue;
        }
        pos += 1;
        pos += text[pos..].len() - text[pos..].trim_start_matches(' ').len();
        let value = &text[pos..];
        let (value_start, value_len) = if let Some(quote) =
            value.chars().next().filter(|q| *q == '"' || *q == '\'')
        {
            let inner = &value[1..];
            let len = inner.find(quote).unwrap_or(inner.len());
            (pos + 1, len)
        } else {
            let len = value
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '}' | ')' | ']'))
                .unwrap_or(value.len());
            // `Authorization: Bearer xyz`: the scheme stays, the token was masked already.
            if ["bearer", "basic"].contains(&value[..len].to_ascii_lowercase().as_str()) {
                continue;
            }
            (pos, len)
        };
        if value_len == 0 || value_start + value_len > bytes_len {
            continue;
        }
        out.push_str(&text[last..value_start]);
        out.push_str(MASK);
        last = value_start + value_len;
        while chars.peek().is_some_and(|&(i, _)| i < last) {
            chars.next();
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_bearer_tokens() {
        assert_eq!(
            redact("sent Authorization: Bearer eyJhbGciOi.abc.def to Aurora"),
            "sent Authorization: Bearer [redacted] to Aurora"
        );
    }

    #[test]
    fn masks_form_and_query_values() {
        assert_eq!(
            redact("grant_type=password&username=u&password=hunter2&client_secret=s3cr3t"),
            "grant_type=password&username=u&password=[redacted]&client_secret=[redacted]"
        );
        assert_eq!(
            redact("GET https://x.blob.core.windows.net/c?sv=2020&sig=AbC%2F123&restype=container"),
            "GET https://x.blob.core.windows.net/c?sv=2020&sig=[redacted]&restype=container"
        );
    }

    #[test]
    fn masks_json_values() {
        assert_eq!(
            redact(r#"{"access_token": "abc.def", "expires_in": 3600, "clientSecret":"x"}"#),
            r#"{"access_token": "[redacted]", "expires_in": 3600, "clientSecret":"[redacted]"}"#
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "Aurora answered 400: caseTypeCode is required (templates/pothole.amap:12)";
        assert_eq!(redact(text), text);
        assert_eq!(redact("a token was refused"), "a token was refused");
        assert_eq!(redact("tokens: none"), "tokens: none");
    }

    #[test]
    fn bounds_length() {
        let long = "x".repeat(MAX_REASON_CHARS + 50);
        assert_eq!(redact(&long).chars().count(), MAX_REASON_CHARS + 1);
        let multibyte = "é".repeat(MAX_REASON_CHARS + 1);
        assert!(redact(&multibyte).ends_with('…'));
    }
}
