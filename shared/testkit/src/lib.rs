//! Test support against the real local stack.
//!
//! [`TestStack::get`] finds the stack (NATS with JetStream, PostgreSQL) or starts it with
//! `deploy/local/infra.sh`; [`TestNamespace`] gives a test its own subject and stream
//! prefixes so tests run in parallel on one server; [`TestDatabase`] gives it a fresh database
//! with an owner role and a service role. Both clean up after themselves.
//!
//! `RADIANT_TEST_NATS_URL` and `RADIANT_TEST_DATABASE_ADMIN_URL` point at another stack.

mod database;
mod namespace;
mod stack;

pub use database::TestDatabase;
pub use namespace::TestNamespace;
pub use stack::TestStack;

/// Waits until `condition` holds, polling every 20 ms, for at most `timeout`.
pub async fn eventually<Condition, ConditionFuture>(
    timeout: std::time::Duration,
    mut condition: Condition,
) -> bool
where
    Condition: FnMut() -> ConditionFuture,
    ConditionFuture: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A short random hex string for unique names.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// Runs `cleanup` to completion on a runtime of its own, so it can run from `Drop` inside a
/// test's runtime.
pub(crate) fn run_detached<F: std::future::Future<Output = ()> + Send + 'static>(cleanup: F) {
    let handle = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(cleanup);
    });
    let _ = handle.join();
}
