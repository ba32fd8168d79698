//! Editor and incremental support: the salsa database that re-checks only what an edit
//! touched, the formatter, and the language server built on both.

pub mod format;
