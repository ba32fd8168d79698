//! Renderers: the same diagnostics as rustc-like text, JSON, GitHub annotations or SARIF.
//!
//! Every renderer reads `&[Diagnostic]` and the [`SourceMap`] their spans point into and
//! returns text; none of them changes what is reported. Positions are 1-based lines and
//! columns counted in characters; a span that runs past its text (or into the middle of a
//! character) is clamped rather than trusted.

mod github;
mod human;
mod json;
mod markdown;
mod sarif;

pub use github::github;
pub use human::{HumanOptions, human, summary};
pub use json::json;
pub use markdown::{explain, registry_markdown};
pub use sarif::sarif;

use super::{Diagnostic, FileId, Location, SourceFile, SourceMap, Span};

/// The output formats of `amap check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// rustc-like text with source excerpts.
    #[default]
    Human,
    /// One JSON object with counts and every diagnostic.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::message`).
    Github,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Github, Format::Sarif];

    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Github => "github",
            Format::Sarif => "sarif",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What was checked, for the counts of the JSON report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// Template files checked.
    pub files: usize,
    /// Templates found in them.
    pub templates: usize,
}

/// Renders `diagnostics` in `format`. `counts` is used by JSON only, `human` by the text form.
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    counts: Counts,
    human_options: &HumanOptions<'_>,
) -> String {
    match format {
        Format::Human => human(diagnostics, sources, human_options),
        Format::Json => json(diagnostics, sources, counts),
        Format::Github => github(diagnostics, sources),
        Format::Sarif => sarif(diagnostics, sources),
    }
}

/// The number of errors and of warnings.
pub fn tally(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}

/// The name shown for a file that is not in the map (never expected, never a panic).
const UNKNOWN_FILE: &str = "<unknown>";

fn file(sources: &SourceMap, id: FileId) -> Option<&SourceFile> {
    ((id.0 as usize) < sources.len()).then(|| sources.get(id))
}

fn file_name(sources: &SourceMap, id: FileId) -> &str {
    file(sources, id).map_or(UNKNOWN_FILE, |f| f.name.as_str())
}

/// A span cut down to its text: inside it, on character boundaries, start before end.
fn clamp(text: &str, span: Span) -> std::ops::Range<usize> {
    let floor = |at: u32| {
        let mut at = (at as usize).min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = floor(span.start);
    let end = floor(span.end).max(start);
    start..end
}

/// A 1-based, character-counted region of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Region {
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
}

impl Region {
    /// The region of a location; the end is exclusive (the column after the last character).
    fn of(sources: &SourceMap, location: Location) -> Region {
        match file(sources, location.file) {
            Some(f) => {
                let range = clamp(&f.text, location.span);
                let start = f.line_col(range.start as u32);
                let end = f.line_col(range.end as u32);
                Region {
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                }
            }
            None => Region {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_count_characters_and_clamp() {
        let mut map = SourceMap::new();
        let id = map.add("a.amap", "é = 1\nab");
        // `=` is byte 3 (é is two bytes) and column 3.
        let r = Region::of(
            &map,
            Location {
                file: id,
                span: Span::new(3, 4),
            },
        );
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (1, 3, 1, 4));
        // Past the end, and into the middle of `é`.
        let r = Region::of(
            &map,
            Location {
                file: id,
                span: Span::new(1, 99),
            },
        );
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (1, 1, 2, 3));
        let missing = Region::of(
            &map,
            Location {
                file: FileId(7),
                span: Span::new(0, 1),
            },
        );
        assert_eq!(missing.line, 1);
        assert_eq!(file_name(&map, FileId(7)), UNKNOWN_FILE);
    }

    #[test]
    fn formats_round_trip_through_their_names() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
    }
}
