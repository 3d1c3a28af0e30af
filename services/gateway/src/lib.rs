//! The gateway: the only door for clients. HTTP/JSON (axum) and gRPC (tonic) in, NATS out.
//!
//! - [`config`]: typed, layered configuration;
//! - [`auth`]: JWT verification (HS256, RS256 PEM or JWKS) and dev-token minting;
//! - [`routes`]: HTTP routes and the OpenAPI document; [`grpc`]: the gRPC services;
//! - [`platform`]: the logic both transports share; [`app`]: wiring and serving.

pub mod answers;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod grpc;
pub mod middleware;
pub mod platform;
pub mod routes;
pub mod state;

pub use app::Application;
