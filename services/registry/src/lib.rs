//! The registry: every model, license and workflow, with live provider health and thermal
//! state streamed in.
//!
//! - [`handlers`]: the NATS endpoints (`radiant.registry.v1.*`), one module per group.
//! - [`domain`]: vocabularies, validation, selection, health and thermal rules (no I/O).
//! - [`store`]: the SQL, one module per table family.
//! - [`catalogue`]: the in-memory catalogue and live state every replica selects from.
//! - [`live`]: the consumer that projects health and thermal observations into the KV bucket.
//! - [`sync`]: the full, pricing, health and thermal sync jobs.
//! - [`seed`]: the catalogue the registry starts with (the seeds' models, the local models).
//! - [`crypto`]: provider keys encrypted at rest.

pub mod app;
pub mod catalogue;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod events;
pub mod handlers;
pub mod inference_host;
pub mod live;
pub mod registry;
pub mod seed;
pub mod store;
pub mod sync;

pub use app::Application;
