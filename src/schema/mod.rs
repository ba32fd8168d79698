//! The schema layer: the project file (`amap.toml`), the Connect schema and the Aurora schema,
//! loaded from TOML text with spans so that a mistake in them is a diagnostic into the file.

mod model;

pub use model::*;
