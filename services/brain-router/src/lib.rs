//! The brain router: which model answers a request, and why.
//!
//! Built so far: the decision itself ([`domain`]), pure and in memory: the routing context,
//! the task classifier, tenant and global rules, eligibility, scoring with a learned-score
//! term, thermal preference with background warm-ups, and the explanation of every decision.
//! The NATS service around it (the registry's live view, invocation, streaming, routing
//! history, execution manifests) is not built yet.

pub mod domain;
