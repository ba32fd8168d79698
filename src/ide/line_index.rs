//! Byte offsets to editor positions and back: a line and a column counted in UTF-8 bytes or in
//! UTF-16 code units, as the client asked (the language server protocol's default is UTF-16).

/// How columns are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
}

/// A 0-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The start offset of each line of a text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
    len: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
            .collect();
        LineIndex {
            starts,
            len: text.len() as u32,
        }
    }

    /// The position of a byte offset (clamped to the text; inside a character, its start).
    pub fn position(&self, text: &str, offset: u32, enc: Encoding) -> Position {
        let offset = offset.min(self.len);
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts[line] as usize;
        let mut end = offset as usize;
        while end > start && !text.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = text.get(start..end).unwrap_or_default();
        let column = match enc {
            Encoding::Utf8 => prefix.len() as u32,
            Encoding::Utf16 => prefix.encode_utf16().count() as u32,
        };
        Position {
            line: line as u32,
            column,
        }
    }

    /// The byte offset of a position (a column past the end of its line means the line's end;
    /// a line past the end of the text means the text's end).
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> u32 {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.len;
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(self.len, |next| next - 1);
        let line = text.get(start as usize..end as usize).unwrap_or_default();
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut counted = 0u32;
        for (i, c) in line.char_indices() {
            if counted >= pos.column {
                return start + i as u32;
            }
            counted += match enc {
                Encoding::Utf8 => c.len_utf8() as u32,
                Encoding::Utf16 => c.len_utf16() as u32,
            };
        }
        start + line.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_both_encodings() {
        let text = "ab\nx😀y = \"é\"\n";
        let idx = LineIndex::new(text);
        let y = text.find('y').expect("y") as u32;
        assert_eq!(
            idx.position(text, y, Encoding::Utf16),
            Position { line: 1, column: 3 }
        );
        assert_eq!(
            idx.position(text, y, Encoding::Utf8),
            Position { line: 1, column: 5 }
        );
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            for off in 0..=text.len() as u32 {
                if text.is_char_boundary(off as usize) {
                    let p = idx.position(text, off, enc);
                    assert_eq!(idx.offset(text, p, enc), off, "{enc:?} {off}");
                }
            }
        }
    }

    #[test]
    fn clamps_out_of_range_positions() {
        let text = "ab\ncd";
        let idx = LineIndex::new(text);
        assert_eq!(
            idx.offset(
                text,
                Position {
                    line: 0,
                    column: 99
                },
                Encoding::Utf16
            ),
            2
        );
        assert_eq!(
            idx.offset(text, Position { line: 9, column: 0 }, Encoding::Utf16),
            5
        );
        assert_eq!(
            idx.position(text, 99, Encoding::Utf8),
            Position { line: 1, column: 2 }
        );
    }
}
