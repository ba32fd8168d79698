//! The runtime: what runs compiled plans against the outside world.

pub mod aurora;
pub mod case;
pub mod eval;
pub mod mapping_test;
pub mod preview;
