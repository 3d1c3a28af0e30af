//! The NATS endpoints: decode → domain → encode. One file per endpoint group.

pub mod files;
pub mod idempotency;
pub mod lifecycle;
pub mod uploads;

use radiant_bus::ServiceHostBuilder;
use radiant_bus::subjects::media as subjects;

use crate::vault::SharedVault;

/// Adds `subject` answered by `handler(&vault, context, request)`.
macro_rules! endpoint {
    ($builder:expr, $vault:expr, $subject:expr, $handler:path) => {{
        let vault = $vault.clone();
        $builder.endpoint($subject, move |context, request| {
            let vault = vault.clone();
            async move { $handler(&vault, context, request).await.map_err(Into::into) }
        })
    }};
}

pub fn register(builder: ServiceHostBuilder, vault: &SharedVault) -> ServiceHostBuilder {
    let builder = endpoint!(builder, vault, subjects::FILES_STORE, files::store_file);
    let builder = endpoint!(builder, vault, subjects::FILES_GET, files::get_file);
    let builder = endpoint!(
        builder,
        vault,
        subjects::FILES_VERSIONS,
        files::list_versions
    );
    let builder = endpoint!(
        builder,
        vault,
        subjects::FILES_DOWNLOAD_URL,
        files::download_url
    );
    let builder = endpoint!(
        builder,
        vault,
        subjects::FILES_TOMBSTONE,
        lifecycle::tombstone
    );
    let builder = endpoint!(builder, vault, subjects::FILES_RESTORE, lifecycle::restore);
    let builder = endpoint!(
        builder,
        vault,
        subjects::FILES_LEGAL_HOLD,
        lifecycle::legal_hold
    );
    let builder = endpoint!(builder, vault, subjects::FILES_PURGE, lifecycle::purge);
    let builder = endpoint!(builder, vault, subjects::UPLOADS_CREATE, uploads::create);
    let builder = endpoint!(
        builder,
        vault,
        subjects::UPLOADS_PART_URLS,
        uploads::part_urls
    );
    let builder = endpoint!(builder, vault, subjects::UPLOADS_GET, uploads::get);
    let builder = endpoint!(
        builder,
        vault,
        subjects::UPLOADS_COMPLETE,
        uploads::complete
    );
    endpoint!(builder, vault, subjects::UPLOADS_ABORT, uploads::abort)
}
