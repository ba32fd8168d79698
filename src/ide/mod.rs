//! Editor and incremental support: the salsa database that re-checks only what an edit
//! touched, the formatter, and the editor features (completion, hover, navigation) that the
//! language server serves.

pub mod complete;
pub mod cursor;
pub mod db;
pub mod fixes;
pub mod format;
pub mod hover;
pub mod line_index;
pub mod lsp;
pub mod navigate;
pub mod project;

#[cfg(test)]
mod tests;
