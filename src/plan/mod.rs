//! The plan layer: checked templates packed into a versioned, deterministic, self-contained
//! bundle (`amap compile`), and the loader that refuses a bundle it cannot run.

mod bundle;
mod compile;

pub use bundle::*;
pub use compile::{CompileInput, compile, content_hash};
