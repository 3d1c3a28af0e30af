//! The media vault: file bytes in versioned S3, their metadata in PostgreSQL.
//!
//! - [`handlers`]: the NATS endpoints (`radiant.media.v1.*`), one module per group.
//! - [`domain`]: validation, part planning, lifecycle rules, variant sizing (no I/O).
//! - [`store`]: the SQL, one module per table family.
//! - [`storage`]: S3 (versioned objects, multipart, presigning, streaming SHA-256).
//! - [`recording`]: how a new file version is written and announced.
//! - [`jobs`]: the variant consumer, the integrity scrub, the purge outbox, the upload sweeper.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod recording;
pub mod storage;
pub mod store;
pub mod vault;

pub use app::Application;
