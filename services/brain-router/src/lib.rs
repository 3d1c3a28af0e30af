//! The brain router: which model answers a request, and the answer itself.
//!
//! - [`domain`]: the decision, pure and in memory (context, task classifier, rules, scoring
//!   with a learned-score term, thermal preference, explanation).
//! - [`live`]: the registry's models and live state, kept in memory from its KV bucket.
//! - [`classify`]: the task type by embeddings from the inference host, or keywords.
//! - [`routing`]: request → decision, recorded in routing history.
//! - [`invoke`]: SageMaker runtime, OpenAI-compatible and Anthropic clients, plain and streamed.
//! - [`execute`]: retries, fallbacks, mid-stream continuation, health events, manifests.
//! - [`recording`]: routing history, manifests, health observations and warm-ups, off the
//!   request's path.
//! - [`handlers`]: the NATS endpoints; [`store`]: their SQL.

pub mod app;
pub mod brain;
pub mod classify;
pub mod config;
pub mod domain;
pub mod execute;
pub mod handlers;
pub mod health_summary;
pub mod invoke;
pub mod live;
pub mod recording;
pub mod routing;
pub mod store;

pub use app::Application;
