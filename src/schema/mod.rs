//! The schema layer: the project file (`amap.toml`), the Connect schema and the Aurora schema,
//! loaded from TOML text with spans so that a mistake in them is a diagnostic into the file.

mod load;
mod model;
mod project;
mod read;

pub use load::{load_aurora, load_connect};
pub use model::*;
pub use project::{ProjectConfig, SERVICE_TABLES, parse_project};

#[cfg(test)]
mod tests;
