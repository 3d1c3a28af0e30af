//! Who is asking, and until when: the request context carried in NATS headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use uuid::Uuid;

use crate::error::ServiceError;

pub mod headers {
    pub const TENANT_ID: &str = "Radiant-Tenant-Id";
    pub const USER_ID: &str = "Radiant-User-Id";
    pub const ROLES: &str = "Radiant-Roles";
    pub const TIER: &str = "Radiant-Tier";
    pub const REQUEST_ID: &str = "Radiant-Request-Id";
    /// Absolute deadline in milliseconds since the Unix epoch.
    pub const DEADLINE: &str = "Radiant-Deadline";
}

/// The role that administrative endpoints require.
pub const ADMIN_ROLE: &str = "admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub roles: Vec<String>,
    pub tier: Option<String>,
    pub request_id: String,
    pub deadline: Option<SystemTime>,
}

impl Default for RequestContext {
    fn default() -> Self {
        Self::internal()
    }
}

impl RequestContext {
    /// A context for work the platform starts itself (jobs, schedules): no tenant, no user.
    pub fn internal() -> Self {
        Self {
            tenant_id: None,
            user_id: None,
            roles: Vec::new(),
            tier: None,
            request_id: Uuid::now_v7().to_string(),
            deadline: None,
        }
    }

    pub fn for_tenant(tenant_id: Uuid, user_id: &str) -> Self {
        Self {
            tenant_id: Some(tenant_id),
            user_id: Some(user_id.to_string()),
            ..Self::internal()
        }
    }

    pub fn with_roles(mut self, roles: &[&str]) -> Self {
        self.roles = roles.iter().map(|role| role.to_string()).collect();
        self
    }

    pub fn with_deadline_in(mut self, timeout: Duration) -> Self {
        self.deadline = Some(SystemTime::now() + timeout);
        self
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(ADMIN_ROLE)
    }

    /// The tenant, or an `unauthenticated` error for tenant-scoped endpoints.
    pub fn require_tenant(&self) -> Result<Uuid, ServiceError> {
        self.tenant_id
            .ok_or_else(|| ServiceError::unauthenticated("request carries no tenant"))
    }

    pub fn require_role(&self, role: &str) -> Result<(), ServiceError> {
        if self.has_role(role) {
            return Ok(());
        }
        Err(ServiceError::permission_denied(format!(
            "the {role} role is required"
        )))
    }

    /// Time left before the deadline: `None` without a deadline, zero once it has passed.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    pub fn is_expired(&self) -> bool {
        self.remaining()
            .is_some_and(|remaining| remaining.is_zero())
    }

    pub fn write_headers(&self, headers: &mut HeaderMap) {
        if let Some(tenant_id) = self.tenant_id {
            headers.insert(headers::TENANT_ID, tenant_id.to_string().as_str());
        }
        if let Some(user_id) = &self.user_id {
            headers.insert(headers::USER_ID, header_safe(user_id).as_str());
        }
        if !self.roles.is_empty() {
            headers.insert(headers::ROLES, header_safe(&self.roles.join(",")).as_str());
        }
        if let Some(tier) = &self.tier {
            headers.insert(headers::TIER, header_safe(tier).as_str());
        }
        headers.insert(headers::REQUEST_ID, header_safe(&self.request_id).as_str());
        if let Some(deadline) = self.deadline {
            headers.insert(
                headers::DEADLINE,
                unix_millis(deadline).to_string().as_str(),
            );
        }
    }

    /// Reads the context a caller sent. Absent headers are absent values (a new request id is
    /// made up); present but malformed ones are an `invalid_argument` error.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Result<Self, ServiceError> {
        let Some(headers) = headers else {
            return Ok(Self::internal());
        };
        let text = |name: &str| {
            headers
                .get(name)
                .map(|value| value.as_str().trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let tenant_id = text(headers::TENANT_ID)
            .map(|value| {
                Uuid::parse_str(&value).map_err(|_| {
                    ServiceError::invalid_argument(format!(
                        "header {} is not a uuid: {value:?}",
                        headers::TENANT_ID
                    ))
                })
            })
            .transpose()?;
        let deadline = text(headers::DEADLINE)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map(|millis| UNIX_EPOCH + Duration::from_millis(millis))
                    .map_err(|_| {
                        ServiceError::invalid_argument(format!(
                            "header {} is not a unix time in milliseconds: {value:?}",
                            headers::DEADLINE
                        ))
                    })
            })
            .transpose()?;
        let roles = text(headers::ROLES)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|role| !role.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            tenant_id,
            user_id: text(headers::USER_ID),
            roles,
            tier: text(headers::TIER),
            request_id: text(headers::REQUEST_ID).unwrap_or_else(|| Uuid::now_v7().to_string()),
            deadline,
        })
    }

    pub fn to_proto(&self) -> radiant_proto::common::RequestContext {
        radiant_proto::common::RequestContext {
            tenant_id: self.tenant_id.map(|id| id.to_string()).unwrap_or_default(),
            user_id: self.user_id.clone().unwrap_or_default(),
            roles: self.roles.clone(),
            tier: self.tier.clone().unwrap_or_default(),
            request_id: self.request_id.clone(),
            deadline_unix_ms: self.deadline.map(unix_millis).unwrap_or(0) as i64,
        }
    }
}

pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// Header values cannot carry control characters (they would split the header block).
fn header_safe(value: &str) -> String {
    value
        .chars()
        .filter(|character| !character.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trips_through_headers() {
        let context = RequestContext {
            tenant_id: Some(Uuid::new_v4()),
            user_id: Some("user-1".to_string()),
            roles: vec!["admin".to_string(), "editor".to_string()],
            tier: Some("pro".to_string()),
            request_id: "req-1".to_string(),
            deadline: Some(UNIX_EPOCH + Duration::from_millis(1_900_000_000_123)),
        };
        let mut headers = HeaderMap::new();
        context.write_headers(&mut headers);
        assert_eq!(
            RequestContext::from_headers(Some(&headers)).unwrap(),
            context
        );
    }

    #[test]
    fn malformed_headers_are_invalid_arguments() {
        let mut headers = HeaderMap::new();
        headers.insert(headers::TENANT_ID, "not-a-uuid");
        let error = RequestContext::from_headers(Some(&headers)).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::InvalidArgument);
        assert!(error.message.contains("Radiant-Tenant-Id"));

        let mut headers = HeaderMap::new();
        headers.insert(headers::DEADLINE, "soon");
        assert!(RequestContext::from_headers(Some(&headers)).is_err());
    }

    #[test]
    fn control_characters_never_reach_headers() {
        let mut context = RequestContext::internal();
        context.user_id = Some("eve\r\nRadiant-Roles: admin".to_string());
        let mut headers = HeaderMap::new();
        context.write_headers(&mut headers);
        let parsed = RequestContext::from_headers(Some(&headers)).unwrap();
        assert_eq!(parsed.user_id.as_deref(), Some("eveRadiant-Roles: admin"));
        assert!(parsed.roles.is_empty());
    }

    #[test]
    fn remaining_is_zero_after_the_deadline() {
        let mut context = RequestContext::internal();
        assert_eq!(context.remaining(), None);
        context.deadline = Some(SystemTime::now() - Duration::from_secs(1));
        assert!(context.is_expired());
        let context = RequestContext::internal().with_deadline_in(Duration::from_secs(60));
        assert!(context.remaining().unwrap() > Duration::from_secs(59));
    }
}
