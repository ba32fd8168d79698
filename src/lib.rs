//! amap: typed mapping templates between Jadu Connect and Symology Aurora.
//!
//! The modules follow the pipeline, each knowing nothing of the ones after it:
//! [`syntax`] → [`schema`] → [`check`] → [`plan`] → `runtime` → `service`.
//! [`diagnostics`] is the shared data model for everything reported against source text.

// pest is built without `std` (see Cargo.toml): its generated parser names `alloc` directly.
extern crate alloc;

pub mod check;
pub mod cli;
pub mod diagnostics;
pub mod ide;
pub mod plan;
pub mod runtime;
pub mod schema;
pub mod service;
pub mod sim;
pub mod syntax;
pub mod workspace;
