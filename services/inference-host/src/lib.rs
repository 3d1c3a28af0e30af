//! RADIANT's inference host: a SageMaker-runtime-compatible endpoint host with real local
//! models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2) and classical image algorithms, plus an
//! OpenAI-compatible API over the same endpoints. It stands in for SageMaker on developer
//! machines and in CI; the services call it with the same clients they use in production.

pub mod app;
pub mod config;
pub mod endpoints;
pub mod http;
pub mod invoke;
pub mod models;
pub mod visual;

pub use app::Application;
