//! The runtime: what runs compiled plans against the outside world.

pub mod aurora;
pub mod case;
pub mod eval;
