//! Reading the body of a `"…"` literal: escapes, and the split at `{path}` placeholders.
//!
//! The grammar accepts any escape and any braces; what is wrong with a literal is found here and
//! reported as E0002, while the literal is still read as well as it can be (an unknown escape
//! keeps its character), so that the rest of the item is still checked.

use std::borrow::Cow;

/// A piece of a string body, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    Text(String),
    /// `{…}`: what is between the braces with its escapes applied and surrounding spaces
    /// removed, and where that text starts in the body (meaningful only when `exact`: no escape
    /// changed the text). `open..close` covers the braces.
    Placeholder {
        content: Cow<'a, str>,
        content_start: usize,
        exact: bool,
        open: usize,
        close: usize,
    },
}

/// A problem in a string body; positions are byte offsets into the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Problem {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub help: &'static str,
}

pub(super) const ESCAPES_HELP: &str =
    "the escapes are `\\n`, `\\t`, `\\\"`, `\\\\`, `\\{` and `\\}`; write `\\\\` for a backslash";
const UNCLOSED_HELP: &str =
    "close the placeholder with `}`, or write `\\{` for a brace that is part of the text";

/// Splits a string body (the text between the quotes) into pieces.
pub(super) fn read(body: &str) -> (Vec<Piece<'_>>, Vec<Problem>) {
    let mut pieces = Vec::new();
    let mut problems = Vec::new();
    if !body.contains(['\\', '{']) {
        if !body.is_empty() {
            pieces.push(Piece::Text(body.to_string()));
        }
        return (pieces, problems);
    }
    let mut text = String::with_capacity(body.len());
    let mut i = 0;
    while let Some(c) = body[i..].chars().next() {
        match c {
            '\\' => match body[i + 1..].chars().next() {
                Some(e) => {
                    match unescape(e) {
                        Some(u) => text.push(u),
                        None => {
                            problems.push(Problem {
                                start: i,
                                end: i + 1 + e.len_utf8(),
                                message: format!("unknown escape `\\{e}` in a string"),
                                help: ESCAPES_HELP,
                            });
                            text.push(e);
                        }
                    }
                    i += 1 + e.len_utf8();
                }
                None => {
                    problems.push(Problem {
                        start: i,
                        end: i + 1,
                        message: "a string cannot end with a lone `\\`".to_string(),
                        help: ESCAPES_HELP,
                    });
                    i += 1;
                }
            },
            '{' => match placeholder_end(body, i + 1) {
                Some(close) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(placeholder(body, i, close));
                    i = close + 1;
                }
                None => {
                    problems.push(Problem {
                        start: i,
                        end: body.len(),
                        message: "unclosed `{` placeholder in a string".to_string(),
                        help: UNCLOSED_HELP,
                    });
                    text.push_str(&body[i..]);
                    break;
                }
            },
            c => {
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    (pieces, problems)
}

fn unescape(c: char) -> Option<char> {
    Some(match c {
        'n' => '\n',
        't' => '\t',
        '"' => '"',
        '\\' => '\\',
        '{' => '{',
        '}' => '}',
        _ => return None,
    })
}

/// The index of the `}` closing a placeholder whose content starts at `from`.
fn placeholder_end(body: &str, from: usize) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut j = from;
    while j < bytes.len() {
        match bytes[j] {
            b'}' => return Some(j),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

fn placeholder(body: &str, open: usize, close: usize) -> Piece<'_> {
    let inner = &body[open + 1..close];
    let trimmed = inner.trim_matches([' ', '\t']);
    let content_start = open + 1 + (inner.len() - inner.trim_start_matches([' ', '\t']).len());
    if !trimmed.contains('\\') {
        return Piece::Placeholder {
            content: Cow::Borrowed(trimmed),
            content_start,
            exact: true,
            open,
            close: close + 1,
        };
    }
    let mut s = String::with_capacity(trimmed.len());
    let mut chars = trimmed.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                s.push(unescape(e).unwrap_or(e));
            }
        } else {
            s.push(c);
        }
    }
    Piece::Placeholder {
        content: Cow::Owned(s),
        content_start,
        exact: false,
        open,
        close: close + 1,
    }
}
