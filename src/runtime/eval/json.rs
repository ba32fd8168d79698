//! Writing JSON straight into a byte buffer: strings escaped exactly as `serde_json` does
//! (so the bytes equal a `serde_json` serialisation), and a text sink that escapes as it
//! is written, so computed text never needs a buffer of its own.

use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What a byte needs: 0 nothing, otherwise the escape letter (`u` for `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` escaped for the inside of a JSON string (no quotes).
#[inline]
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        if start < i {
            out.extend_from_slice(&bytes[start..i]);
        }
        if esc == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    if start < bytes.len() {
        out.extend_from_slice(&bytes[start..]);
    }
}

/// Appends `s` as a JSON string (with quotes).
#[inline]
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// A JSON object key and colon, pre-escaped: `"name":`.
pub fn key_bytes(name: &str) -> Box<[u8]> {
    let mut out = Vec::with_capacity(name.len() + 3);
    write_string(&mut out, name);
    out.push(b':');
    out.into_boxed_slice()
}

/// A position in a sink to roll back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    at: usize,
    written: usize,
    budget: usize,
}

/// Where computed text goes: escaped into JSON output, or plain into a string. Tracks how
/// many bytes of text (before escaping) were written and can roll back to a mark.
pub trait Sink: fmt::Write {
    /// The number of text bytes written so far (unescaped).
    fn written(&self) -> usize;
    /// A position to roll back to.
    fn mark(&self) -> Mark;
    /// Drops everything written after `mark`.
    fn reset(&mut self, mark: Mark);
    /// Whether the sink already keeps only a number of characters (see [`Limit`]).
    fn is_limited(&self) -> bool {
        false
    }
}

/// Text escaped into JSON output (the inside of a string).
pub struct JsonText<'o> {
    pub out: &'o mut Vec<u8>,
    pub written: usize,
}

impl<'o> JsonText<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        JsonText { out, written: 0 }
    }
}

impl fmt::Write for JsonText<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.written += s.len();
        escape_into(self.out, s);
        Ok(())
    }
}

impl Sink for JsonText<'_> {
    fn written(&self) -> usize {
        self.written
    }
    fn mark(&self) -> Mark {
        Mark {
            at: self.out.len(),
            written: self.written,
            budget: 0,
        }
    }
    fn reset(&mut self, mark: Mark) {
        self.out.truncate(mark.at);
        self.written = mark.written;
    }
}

/// Plain text into a string.
pub struct PlainText<'o> {
    pub out: &'o mut String,
}

impl fmt::Write for PlainText<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.push_str(s);
        Ok(())
    }
}

impl Sink for PlainText<'_> {
    fn written(&self) -> usize {
        self.out.len()
    }
    fn mark(&self) -> Mark {
        Mark {
            at: self.out.len(),
            written: self.out.len(),
            budget: 0,
        }
    }
    fn reset(&mut self, mark: Mark) {
        self.out.truncate(mark.at);
    }
}

/// Keeps the first `budget` characters written and drops the rest (`truncate` without a
/// buffer). Limits do not nest: check [`Sink::is_limited`] first.
pub struct Limit<'s> {
    pub inner: &'s mut dyn Sink,
    pub budget: usize,
}

impl fmt::Write for Limit<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.budget == 0 || s.is_empty() {
            return Ok(());
        }
        let kept = if s.len() <= self.budget {
            s
        } else {
            super::builtins::truncate_str(s, self.budget)
        };
        self.budget -= if kept.is_ascii() {
            kept.len()
        } else {
            kept.chars().count()
        };
        self.inner.write_str(kept)
    }
}

impl Sink for Limit<'_> {
    fn written(&self) -> usize {
        self.inner.written()
    }
    fn mark(&self) -> Mark {
        Mark {
            budget: self.budget,
            ..self.inner.mark()
        }
    }
    fn reset(&mut self, mark: Mark) {
        self.inner.reset(mark);
        self.budget = mark.budget;
    }
    fn is_limited(&self) -> bool {
        true
    }
}

/// Appends fields to a JSON object already written into `out` (which must end with `}`):
/// the caller's additions to a CreateCase body (`contactId`, `attachments`).
pub fn append_fields(out: &mut Vec<u8>, fields: &[(&str, &serde_json::Value)]) {
    if fields.is_empty() || out.last() != Some(&b'}') {
        return;
    }
    out.pop();
    let mut first = out.last() == Some(&b'{');
    for (name, value) in fields {
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(out, name);
        out.push(b':');
        // Serialising a `serde_json::Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn strings_are_escaped_like_serde_json() {
        let samples = [
            "plain",
            "quote \" and \\ backslash",
            "new\nline\ttab\r\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "Große Straße — ✓ 😀",
            "",
        ];
        for s in samples {
            let mut out = Vec::new();
            write_string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn json_text_counts_unescaped_bytes_and_rolls_back() {
        let mut buf = b"{".to_vec();
        let mut t = JsonText::new(&mut buf);
        let _ = t.write_str("a\"b");
        let m = t.mark();
        let _ = t.write_str("more");
        t.reset(m);
        assert_eq!(t.written(), 3);
        assert_eq!(buf, b"{a\\\"b");
    }

    #[test]
    fn a_limit_keeps_characters_and_rolls_back() {
        let mut s = String::new();
        let mut plain = PlainText { out: &mut s };
        let mut l = Limit {
            inner: &mut plain,
            budget: 4,
        };
        let _ = l.write_str("ab");
        let m = l.mark();
        let _ = l.write_str("xyz");
        l.reset(m);
        let _ = l.write_str("ßçé");
        let _ = l.write_str("more");
        assert!(l.is_limited());
        assert_eq!(s, "abßç");
    }

    #[test]
    fn fields_are_appended_to_an_object() {
        let id = serde_json::json!("C1");
        let mut out = b"{}".to_vec();
        append_fields(&mut out, &[("contactId", &id)]);
        assert_eq!(out, br#"{"contactId":"C1"}"#);
        let mut out = br#"{"a":1}"#.to_vec();
        append_fields(
            &mut out,
            &[("contactId", &id), ("attachments", &serde_json::json!([]))],
        );
        assert_eq!(out, br#"{"a":1,"contactId":"C1","attachments":[]}"#);
    }
}
