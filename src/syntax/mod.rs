//! The syntax layer: `.amap` text in, a typed tree plus diagnostics out. Parsing never fails
//! and never panics; a broken item becomes [`ast::Item::Error`] with one E0001.

pub mod ast;
mod parser;

pub use parser::parse;

use crate::diagnostics::{Diagnostic, FileId};
use rayon::prelude::*;

/// Parses many files, several at a time (each file on its own, so the result is the same as
/// calling [`parse`] on each in turn); the results come back in the order of `files`.
pub fn parse_files<'t>(
    files: impl IntoIterator<Item = (FileId, &'t str)>,
) -> Vec<(ast::File, Vec<Diagnostic>)> {
    let files: Vec<(FileId, &str)> = files.into_iter().collect();
    files
        .par_iter()
        .with_max_len(1)
        .map(|(file, text)| parse(text, *file))
        .collect()
}
