//! The NATS endpoints: decode → domain → encode. One file per endpoint group.

pub mod files;
pub mod idempotency;
pub mod lifecycle;
pub mod uploads;

use radiant_bus::ServiceHostBuilder;
use radiant_bus::subjects::media as subjects;

use crate::vault::SharedVault;

pub fn register(builder: ServiceHostBuilder, vault: &SharedVault) -> ServiceHostBuilder {
    let builder =
        radiant_bus::state_endpoint!(builder, vault, subjects::FILES_STORE, files::store_file);
    let builder =
        radiant_bus::state_endpoint!(builder, vault, subjects::FILES_GET, files::get_file);
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::FILES_VERSIONS,
        files::list_versions
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::FILES_DOWNLOAD_URL,
        files::download_url
    );
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::FILES_TOMBSTONE,
        lifecycle::tombstone
    );
    let builder =
        radiant_bus::state_endpoint!(builder, vault, subjects::FILES_RESTORE, lifecycle::restore);
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::FILES_LEGAL_HOLD,
        lifecycle::legal_hold
    );
    let builder =
        radiant_bus::state_endpoint!(builder, vault, subjects::FILES_PURGE, lifecycle::purge);
    let builder =
        radiant_bus::state_endpoint!(builder, vault, subjects::UPLOADS_CREATE, uploads::create);
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::UPLOADS_PART_URLS,
        uploads::part_urls
    );
    let builder = radiant_bus::state_endpoint!(builder, vault, subjects::UPLOADS_GET, uploads::get);
    let builder = radiant_bus::state_endpoint!(
        builder,
        vault,
        subjects::UPLOADS_COMPLETE,
        uploads::complete
    );
    radiant_bus::state_endpoint!(builder, vault, subjects::UPLOADS_ABORT, uploads::abort)
}
