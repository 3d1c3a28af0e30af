//! `route`: the decision alone (the auto-resolve API). Recorded in routing history.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::brain::{RouteDecision, RouteRequest};

use crate::brain::BrainRouter;

#[tracing::instrument(skip_all, fields(model = %request.model))]
pub async fn route(
    router: &BrainRouter,
    context: RequestContext,
    request: RouteRequest,
) -> Result<RouteDecision, ServiceError> {
    let routed = crate::routing::route(router, &context, &request).await?;
    Ok(routed.proto)
}
