//! Background work: the variant job consumer and the periodic scrub, purge and sweep runs.

pub mod purge;
pub mod render;
pub mod scrub;
pub mod sweeper;
pub mod variants;

pub use radiant_bus::every;
