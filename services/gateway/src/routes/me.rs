use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::extract::{ApiJson, Authenticated};

/// The caller as the platform sees it: what every service receives in NATS headers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub tenant_id: String,
    pub tier: Option<String>,
    pub roles: Vec<String>,
    pub request_id: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody))
)]
pub async fn me(Authenticated(context): Authenticated) -> ApiJson<Me> {
    ApiJson(Me {
        user_id: context.user_id.unwrap_or_default(),
        tenant_id: context
            .tenant_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        tier: context.tier,
        roles: context.roles,
        request_id: context.request_id,
    })
}
