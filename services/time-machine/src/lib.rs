//! The time machine: every chat action is an immutable snapshot; any snapshot can be viewed,
//! compared, searched, exported and restored, and nothing is ever hard-deleted.
//!
//! - [`handlers`]: the NATS endpoints (`radiant.tm.v1.*`), one module per group.
//! - [`domain`]: validation, the hash chain, comparisons, time expressions, narration and
//!   export rendering (no I/O).
//! - [`store`]: the SQL, one module per table family; [`store::writes`] is the write path.
//! - [`media`]: the media vault over NATS (file bytes live there).
//! - [`events`]: snapshot events, the outbox and its relay.
//! - [`jobs`]: the export job consumer.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod handlers;
pub mod jobs;
pub mod machine;
pub mod media;
pub mod store;

pub use app::Application;
