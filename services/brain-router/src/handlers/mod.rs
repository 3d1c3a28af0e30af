//! The NATS endpoints: decode → domain → encode. One file per endpoint group.

pub mod chat;
pub mod history;
pub mod route;
pub mod rules;

use radiant_bus::ServiceHostBuilder;
use radiant_bus::subjects::brain as subjects;

use crate::brain::SharedBrainRouter;

pub fn register(builder: ServiceHostBuilder, router: &SharedBrainRouter) -> ServiceHostBuilder {
    let builder = radiant_bus::state_endpoint!(builder, router, subjects::ROUTE, route::route);
    let builder =
        radiant_bus::state_endpoint!(builder, router, subjects::CHAT_COMPLETE, chat::complete);
    let builder =
        radiant_bus::state_endpoint!(builder, router, subjects::CHAT_STREAM, chat::stream);
    let builder = radiant_bus::state_endpoint!(builder, router, subjects::RULES_LIST, rules::list);
    let builder =
        radiant_bus::state_endpoint!(builder, router, subjects::RULES_UPSERT, rules::upsert);
    let builder =
        radiant_bus::state_endpoint!(builder, router, subjects::RULES_DELETE, rules::delete);
    radiant_bus::state_endpoint!(builder, router, subjects::HISTORY_LIST, history::list)
}
