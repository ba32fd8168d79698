//! The syntax layer: `.amap` text in, a typed tree plus diagnostics out. Parsing never fails
//! and never panics; a broken item becomes [`ast::Item::Error`] with one E0001.

pub mod ast;
mod parser;

pub use parser::parse;
