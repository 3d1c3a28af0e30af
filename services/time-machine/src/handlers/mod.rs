//! The NATS endpoints (`radiant.tm.v1.*`): decode → domain → store → encode. One file per
//! endpoint group.

pub mod access;
pub mod ai;
pub mod chats;
pub mod exports;
pub mod files;
pub mod history;
pub mod messages;
pub mod paging;
pub mod snapshots;

use radiant_bus::ServiceHostBuilder;
use radiant_bus::state_endpoint;
use radiant_bus::subjects::tm as subjects;

use crate::machine::SharedMachine;

pub fn register(builder: ServiceHostBuilder, machine: &SharedMachine) -> ServiceHostBuilder {
    let builder = state_endpoint!(builder, machine, subjects::CHATS_CREATE, chats::create);
    let builder = state_endpoint!(builder, machine, subjects::CHATS_GET, chats::get);
    let builder = state_endpoint!(builder, machine, subjects::CHATS_LIST, chats::list);
    let builder = state_endpoint!(builder, machine, subjects::CHATS_UPDATE, chats::update);
    let builder = state_endpoint!(builder, machine, subjects::CHATS_DELETE, chats::delete);
    let builder = state_endpoint!(builder, machine, subjects::CHATS_RESTORE, chats::restore);
    let builder = state_endpoint!(builder, machine, subjects::MESSAGES_SAVE, messages::save);
    let builder = state_endpoint!(builder, machine, subjects::MESSAGES_EDIT, messages::edit);
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::MESSAGES_DELETE,
        messages::delete
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::MESSAGES_VERSIONS,
        messages::versions
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::SNAPSHOTS_CREATE,
        snapshots::create
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::SNAPSHOTS_TIMELINE,
        snapshots::timeline
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::SNAPSHOTS_CALENDAR,
        snapshots::calendar
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::SNAPSHOTS_BY_DATE,
        snapshots::by_date
    );
    let builder = state_endpoint!(builder, machine, subjects::SNAPSHOTS_VIEW, snapshots::view);
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::SNAPSHOTS_VERIFY,
        snapshots::verify
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::HISTORY_RESTORE,
        history::restore
    );
    let builder = state_endpoint!(
        builder,
        machine,
        subjects::HISTORY_COMPARE,
        history::compare
    );
    let builder = state_endpoint!(builder, machine, subjects::HISTORY_SEARCH, history::search);
    let builder = state_endpoint!(builder, machine, subjects::FILES_UPLOAD, files::upload);
    let builder = state_endpoint!(builder, machine, subjects::FILES_ATTACH, files::attach);
    let builder = state_endpoint!(builder, machine, subjects::FILES_DELETE, files::delete);
    let builder = state_endpoint!(builder, machine, subjects::FILES_LIST, files::list);
    let builder = state_endpoint!(builder, machine, subjects::FILES_VERSIONS, files::versions);
    let builder = state_endpoint!(builder, machine, subjects::FILES_DOWNLOAD, files::download);
    let builder = state_endpoint!(builder, machine, subjects::AI_SUMMARY, ai::summary);
    let builder = state_endpoint!(builder, machine, subjects::AI_FIND, ai::find);
    let builder = state_endpoint!(builder, machine, subjects::AI_RESTORE, ai::restore);
    let builder = state_endpoint!(builder, machine, subjects::AI_COMPARE, ai::compare_since);
    let builder = state_endpoint!(builder, machine, subjects::EXPORTS_CREATE, exports::create);
    state_endpoint!(builder, machine, subjects::EXPORTS_GET, exports::get)
}
