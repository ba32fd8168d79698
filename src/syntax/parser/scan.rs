//! One pass over a file's bytes that splits it into item regions before pest sees it.
//!
//! pest has no error recovery, so the file is cut where items start and each region is parsed
//! on its own. An item starts at a `create`, `incoming` or `table` keyword, or a `///` doc
//! comment, that is the first token of its line and is either at column 0 or outside every
//! brace; and at the first token after a `}` that closes the outermost brace. Strings and
//! comments are skipped, so braces inside them do not count. A new region is only cut when the
//! current one already holds something other than doc comments, so docs stay with their item.
//!
//! The same pass finds the two problems that must not reach pest: a string without its closing
//! quote (E0002; the whole region is given up) and an expression nested so deeply that parsing
//! it recursively would be unreasonable (E0001).

/// How deep an expression may nest: parentheses plus the operators that nest in the tree
/// (`not`, `if`, `and`, `or`, `??`), counted within one mapping.
pub(super) const MAX_NESTING: u32 = 64;

/// A piece of the file holding at most one item, with its leading and trailing trivia.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Region {
    pub start: usize,
    pub end: usize,
    /// The first byte that is not white space or a plain comment (a doc comment counts).
    pub first: Option<usize>,
    /// Whether the region holds anything besides trivia and doc comments.
    pub has_content: bool,
    /// A problem found while scanning; the region is not parsed.
    pub failure: Option<Failure>,
}

impl Region {
    /// The span an `Item::Error` for this region covers: from its first token to its last
    /// non-blank byte.
    pub fn error_range(&self, text: &str) -> (usize, usize) {
        let start = self.first.unwrap_or(self.start);
        let bytes = text.as_bytes();
        let mut end = self.end;
        while end > start && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        (start, end.max(start))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// A string without its closing quote: from the quote to the end of the line.
    Unterminated { start: usize, end: usize, raw: bool },
    /// The token at which the nesting limit was passed.
    TooDeep { start: usize, end: usize },
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Scanner<'a> {
    bytes: &'a [u8],
    regions: Vec<Region>,
    current: Region,
    depth: u32,
    after_close: bool,
    /// Index of the first byte of the current line.
    line_begin: usize,
    /// Only white space (and comments) so far on this line.
    line_start: bool,
    parens: u32,
    /// Operators counted at each open parenthesis level (index 0: outside parentheses).
    levels: Vec<u32>,
    ops: u32,
}

/// Splits `text` into regions that cover it completely, in order.
pub(super) fn regions(text: &str) -> Vec<Region> {
    let bytes = text.as_bytes();
    let mut s = Scanner {
        bytes,
        regions: Vec::new(),
        current: Region {
            start: 0,
            end: bytes.len(),
            first: None,
            has_content: false,
            failure: None,
        },
        depth: 0,
        after_close: false,
        line_begin: 0,
        line_start: true,
        parens: 0,
        levels: vec![0],
        ops: 0,
    };
    let mut i = 0;
    if bytes.starts_with("\u{FEFF}".as_bytes()) {
        i = 3;
        s.line_begin = 3;
    }
    while i < bytes.len() {
        i = s.step(text, i);
    }
    s.current.end = bytes.len();
    let last = s.current;
    s.regions.push(last);
    s.regions
}

impl Scanner<'_> {
    /// Handles the token at `i` and returns where the next one starts.
    fn step(&mut self, text: &str, i: usize) -> usize {
        let b = self.bytes[i];
        match b {
            b'\n' => {
                self.line_begin = i + 1;
                self.line_start = true;
                if self.parens == 0 {
                    self.reset_statement();
                }
                return i + 1;
            }
            b' ' | b'\t' | b'\r' => return i + 1,
            b'/' if self.bytes.get(i + 1) == Some(&b'/') => {
                let end = self.line_end(i);
                let doc =
                    self.bytes.get(i + 2) == Some(&b'/') && self.bytes.get(i + 3) != Some(&b'/');
                if doc
                    && (self.after_close
                        || (self.line_start && (self.depth == 0 || i == self.line_begin)))
                {
                    self.item_start(i);
                    self.current.first.get_or_insert(i);
                }
                return end;
            }
            _ => {}
        }

        // A significant token.
        let at_line_start = self.line_start;
        self.line_start = false;
        if self.after_close {
            self.item_start(i);
        }
        let word_end = if is_ident(b) {
            let mut j = i + 1;
            while j < self.bytes.len() && is_ident(self.bytes[j]) {
                j += 1;
            }
            j
        } else {
            i
        };
        let word = &self.bytes[i..word_end];
        if at_line_start
            && (self.depth == 0 || i == self.line_begin)
            && matches!(word, b"create" | b"incoming" | b"table")
        {
            self.item_start(i);
        }
        self.current.has_content = true;
        self.current.first.get_or_insert(i);

        match b {
            b'"' => self.string(i + 1, i, false),
            b'r' if self.bytes.get(i + 1) == Some(&b'"') => self.string(i + 2, i, true),
            b'{' => {
                self.depth += 1;
                self.reset_statement();
                i + 1
            }
            b'}' => {
                // A `}` that closes nothing stays with the text around it (one error for a
                // run of stray text); one that closes the outermost brace ends the item.
                if self.depth > 0 {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.after_close = true;
                    }
                }
                self.reset_statement();
                i + 1
            }
            b';' => {
                self.reset_statement();
                i + 1
            }
            b'(' => {
                self.parens += 1;
                if self.levels.len() <= MAX_NESTING as usize + 1 {
                    self.levels.push(0);
                }
                self.check_nesting(i, i + 1);
                i + 1
            }
            b')' => {
                if self.parens > 0 {
                    if self.levels.len() as u32 > self.parens {
                        let popped = self.levels.pop().unwrap_or(0);
                        self.ops = self.ops.saturating_sub(popped);
                    }
                    self.parens -= 1;
                }
                i + 1
            }
            b',' => {
                if self.levels.len() as u32 > self.parens
                    && let Some(level) = self.levels.last_mut()
                {
                    self.ops = self.ops.saturating_sub(*level);
                    *level = 0;
                }
                i + 1
            }
            b'?' if self.bytes.get(i + 1) == Some(&b'?') => {
                self.count_op(i, i + 2);
                i + 2
            }
            _ if word_end > i => {
                if matches!(word, b"not" | b"if" | b"and" | b"or") {
                    self.count_op(i, word_end);
                }
                word_end
            }
            _ if b >= 0x80 => {
                // Skip the whole character so that every position stays on a boundary.
                i + text[i..].chars().next().map_or(1, char::len_utf8)
            }
            _ => i + 1,
        }
    }

    fn line_end(&self, from: usize) -> usize {
        let mut j = from;
        while j < self.bytes.len() && self.bytes[j] != b'\n' {
            j += 1;
        }
        j
    }

    /// Starts a new region at `i` if the current one already holds an item's content.
    fn item_start(&mut self, i: usize) {
        self.after_close = false;
        if !self.current.has_content {
            return;
        }
        self.current.end = i;
        let next = Region {
            start: i,
            end: self.bytes.len(),
            first: None,
            has_content: false,
            failure: None,
        };
        let done = std::mem::replace(&mut self.current, next);
        self.regions.push(done);
        self.depth = 0;
        self.parens = 0;
        self.reset_statement();
    }

    fn reset_statement(&mut self) {
        self.parens = 0;
        self.levels.clear();
        self.levels.push(0);
        self.ops = 0;
    }

    fn count_op(&mut self, start: usize, end: usize) {
        if let Some(level) = self.levels.last_mut() {
            *level += 1;
        }
        self.ops += 1;
        self.check_nesting(start, end);
    }

    fn check_nesting(&mut self, start: usize, end: usize) {
        if self.parens.saturating_add(self.ops) > MAX_NESTING && self.current.failure.is_none() {
            self.current.failure = Some(Failure::TooDeep { start, end });
        }
    }

    /// Skips a string whose body starts at `body`; `open` is where its opening quote (or `r`)
    /// is. A string ends at its closing quote; one that reaches the end of the line first is
    /// unterminated.
    fn string(&mut self, body: usize, open: usize, raw: bool) -> usize {
        let mut j = body;
        while j < self.bytes.len() {
            match self.bytes[j] {
                b'"' => return j + 1,
                b'\n' => break,
                b'\\' if !raw => {
                    if self.bytes.get(j + 1).is_none_or(|&c| c == b'\n') {
                        j += 1;
                        break;
                    }
                    j += 2;
                }
                _ => j += 1,
            }
        }
        let j = j.min(self.bytes.len());
        if self.current.failure.is_none() {
            let mut end = j;
            while end > open && matches!(self.bytes[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
            self.current.failure = Some(Failure::Unterminated {
                start: open,
                end,
                raw,
            });
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &str) -> Vec<usize> {
        regions(text).iter().map(|r| r.start).collect()
    }

    #[test]
    fn regions_cover_the_text_in_order() {
        let text = "create \"a\" for ref.x {\n}\n\ntable t: text -> text {\n}\n";
        let rs = regions(text);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].start, 0);
        assert_eq!(rs[0].end, rs[1].start);
        assert_eq!(rs[1].end, text.len());
        assert_eq!(&text[rs[1].start..rs[1].start + 5], "table");
    }

    #[test]
    fn docs_stay_with_their_item() {
        let text =
            "create \"a\" for ref.x {}\n/// one\n// plain\n/// two\ncreate \"b\" for ref.x {}\n";
        let s = starts(text);
        assert_eq!(s.len(), 2);
        assert_eq!(&text[s[1]..s[1] + 7], "/// one");
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        let text =
            "create \"a}\" for ref.x { // }\n  aurora.a = \"}{\"\n}\ncreate \"b\" for ref.x {}\n";
        let s = starts(text);
        assert_eq!(s.len(), 2);
        assert_eq!(&text[s[1]..s[1] + 6], "create");
    }

    #[test]
    fn a_keyword_at_column_zero_starts_an_item_even_inside_braces() {
        let text = "create \"a\" for ref.x {\n  aurora.a = 1\ncreate \"b\" for ref.x {}\n";
        assert_eq!(starts(text).len(), 2);
        // Indented and inside an open brace: part of the broken item.
        let text = "create \"a\" for ref.x {\n  aurora.a = 1\n  create \"b\" for ref.x {}\n";
        assert_eq!(starts(text).len(), 1);
    }

    #[test]
    fn anything_after_a_closing_brace_starts_a_region() {
        let text = "create \"a\" for ref.x {} }\n";
        let s = starts(text);
        assert_eq!(s.len(), 2);
        assert_eq!(&text[s[1]..], "}\n");
    }

    #[test]
    fn unterminated_strings_are_found() {
        let text = "create \"a\" for ref.x {\n  aurora.a = \"oops\r\n}\n";
        let rs = regions(text);
        let Some(Failure::Unterminated { start, end, raw }) = rs[0].failure.clone() else {
            panic!("expected an unterminated string, got {rs:?}");
        };
        assert_eq!(&text[start..end], "\"oops");
        assert!(!raw);
        let rs = regions("x = r\"abc");
        assert!(matches!(
            rs[0].failure,
            Some(Failure::Unterminated { raw: true, .. })
        ));
        let rs = regions("x = \"a\\");
        assert!(matches!(
            rs[0].failure,
            Some(Failure::Unterminated { raw: false, .. })
        ));
    }

    #[test]
    fn deep_nesting_is_found_but_siblings_are_not_nesting() {
        let deep = format!("x = {}1{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(
            regions(&deep)[0].failure,
            Some(Failure::TooDeep { .. })
        ));
        let nots = format!("x = {}y", "not ".repeat(100));
        assert!(matches!(
            regions(&nots)[0].failure,
            Some(Failure::TooDeep { .. })
        ));
        let args: Vec<String> = (0..200).map(|i| format!("a{i} ?? \"\"")).collect();
        let wide = format!("x = join(\",\",\n {})", args.join(",\n "));
        assert_eq!(regions(&wide)[0].failure, None);
        let lines = "x = a ?? b\n".repeat(200);
        assert_eq!(regions(&lines)[0].failure, None);
    }
}
