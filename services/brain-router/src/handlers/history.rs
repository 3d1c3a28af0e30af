//! `history.list`: the tenant's routing decisions, newest first.

use radiant_bus::{RequestContext, ServiceError};
use radiant_proto::brain::{ListHistoryRequest, ListHistoryResponse};

use crate::brain::BrainRouter;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

#[tracing::instrument(skip_all)]
pub async fn list(
    router: &BrainRouter,
    context: RequestContext,
    request: ListHistoryRequest,
) -> Result<ListHistoryResponse, ServiceError> {
    let tenant_id = context.require_tenant()?;
    let limit = match request.limit {
        0 => DEFAULT_LIMIT,
        limit if limit > MAX_LIMIT => {
            return Err(ServiceError::invalid_field(
                "limit",
                format!("must be at most {MAX_LIMIT}"),
            ));
        }
        limit => limit,
    };
    // a user sees their own decisions; an admin may see the tenant's or another user's
    let user_filter = if context.is_admin() {
        (!request.user_id.is_empty()).then(|| request.user_id.clone())
    } else {
        Some(context.user_id.clone().unwrap_or_default())
    };
    let records = radiant_db::with_tenant(&router.database, tenant_id, |transaction| {
        Box::pin(async move {
            crate::store::history::recent(transaction, user_filter.as_deref(), limit).await
        })
    })
    .await
    .map_err(|error| ServiceError::unavailable(format!("routing history unavailable: {error}")))?;
    Ok(ListHistoryResponse { records })
}
