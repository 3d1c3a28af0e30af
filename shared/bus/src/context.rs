//! Who is asking, and until when: the request context carried in NATS headers.
//!
//! One header, `Radiant-Context`, holds every field as `key=value` pairs separated by `;`:
//!
//! ```text
//! Radiant-Context: t=<tenant uuid>;u=<user>;r=<role>,<role>;tier=<tier>;id=<request id>;dl=<unix ms>
//! ```
//!
//! Absent fields are left out; values are percent-encoded (`%`, `;`, `,`, `=`, controls and
//! non-ASCII); unknown keys are ignored so fields can be added. One compact header instead of
//! one per field: every header byte is parsed by the server and both clients on every hop
//! (see bench/bus-rpc.sh). W3C `traceparent`/`tracestate` travel beside it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use uuid::Uuid;

use crate::error::ServiceError;

pub mod headers {
    /// The request context (format in the module documentation).
    pub const CONTEXT: &str = "Radiant-Context";
    pub const TRACEPARENT: &str = "traceparent";
    pub const TRACESTATE: &str = "tracestate";
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
    /// The caller's W3C trace context, forwarded as is on further calls when this process
    /// records no spans of its own, so a request stays one trace across every hop.
    pub trace_parent: Option<String>,
    pub trace_state: Option<String>,
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
            request_id: Uuid::now_v7().to_string(),
            ..Self::empty()
        }
    }

    /// Every field absent, the request id too (decoding fills it in).
    fn empty() -> Self {
        Self {
            tenant_id: None,
            user_id: None,
            roles: Vec::new(),
            tier: None,
            request_id: String::new(),
            deadline: None,
            trace_parent: None,
            trace_state: None,
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

    /// The plan's tier, 1 (free) ..= 5 (enterprise): the context's `tier` as a number or a plan
    /// name; none, or one not known, is the free tier.
    pub fn plan_tier(&self) -> u32 {
        let Some(tier) = self
            .tier
            .as_deref()
            .map(str::trim)
            .filter(|tier| !tier.is_empty())
        else {
            return 1;
        };
        if let Ok(number) = tier.parse::<u32>() {
            return number;
        }
        match tier.to_ascii_lowercase().as_str() {
            "starter" | "basic" | "plus" => 2,
            "pro" | "professional" => 3,
            "team" | "business" => 4,
            "enterprise" => 5,
            _ => 1,
        }
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

    /// Writes `Radiant-Context`, and the forwarded trace context when there is one.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        self.write_headers_with_deadline(headers, self.deadline);
    }

    /// [`Self::write_headers`] with another deadline (a client's own timeout may come first).
    pub fn write_headers_with_deadline(
        &self,
        headers: &mut HeaderMap,
        deadline: Option<SystemTime>,
    ) {
        headers.insert(
            headers::CONTEXT,
            self.encode_with_deadline(deadline).as_str(),
        );
        if let Some(trace_parent) = &self.trace_parent {
            headers.insert(
                headers::TRACEPARENT,
                without_controls(trace_parent).as_str(),
            );
            if let Some(trace_state) = &self.trace_state {
                headers.insert(headers::TRACESTATE, without_controls(trace_state).as_str());
            }
        }
    }

    /// The `Radiant-Context` header value.
    pub fn encode(&self) -> String {
        self.encode_with_deadline(self.deadline)
    }

    fn encode_with_deadline(&self, deadline: Option<SystemTime>) -> String {
        let mut encoded = String::with_capacity(160);
        let mut separator = "";
        let mut start_field = |encoded: &mut String, key: &str| {
            encoded.push_str(separator);
            encoded.push_str(key);
            encoded.push('=');
            separator = ";";
        };
        if let Some(tenant_id) = self.tenant_id {
            start_field(&mut encoded, "t");
            encoded.push_str(
                tenant_id
                    .hyphenated()
                    .encode_lower(&mut Uuid::encode_buffer()),
            );
        }
        if let Some(user_id) = &self.user_id {
            start_field(&mut encoded, "u");
            percent_encode_into(&mut encoded, user_id);
        }
        if !self.roles.is_empty() {
            start_field(&mut encoded, "r");
            for (index, role) in self.roles.iter().enumerate() {
                if index > 0 {
                    encoded.push(',');
                }
                percent_encode_into(&mut encoded, role);
            }
        }
        if let Some(tier) = &self.tier {
            start_field(&mut encoded, "tier");
            percent_encode_into(&mut encoded, tier);
        }
        start_field(&mut encoded, "id");
        percent_encode_into(&mut encoded, &self.request_id);
        if let Some(deadline) = deadline {
            use std::fmt::Write as _;
            start_field(&mut encoded, "dl");
            let _ = write!(encoded, "{}", unix_millis(deadline));
        }
        encoded
    }

    /// Reads the context a caller sent. An absent header is an internal context with a new
    /// request id; a present but malformed one is an `invalid_argument` error.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Result<Self, ServiceError> {
        let Some(headers) = headers else {
            return Ok(Self::internal());
        };
        let mut context = match headers.get(headers::CONTEXT) {
            Some(value) => Self::decode(value.as_str())?,
            None => Self::internal(),
        };
        context.trace_parent = headers
            .get(headers::TRACEPARENT)
            .map(|value| value.as_str().to_string());
        context.trace_state = headers
            .get(headers::TRACESTATE)
            .map(|value| value.as_str().to_string());
        Ok(context)
    }

    /// Parses a `Radiant-Context` header value.
    pub fn decode(encoded: &str) -> Result<Self, ServiceError> {
        let invalid = |message: String| {
            ServiceError::invalid_argument(format!("header {}: {message}", headers::CONTEXT))
        };
        // not internal(): a request id made up here would be thrown away by most callers
        let mut context = Self::empty();
        for pair in encoded.split(';').filter(|pair| !pair.trim().is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("{pair:?} is not key=value")))?;
            let text = || {
                percent_decode(value)
                    .ok_or_else(|| invalid(format!("{key} is not percent-encoded text")))
            };
            match key.trim() {
                "t" => {
                    let tenant_id = Uuid::parse_str(value)
                        .map_err(|_| invalid(format!("tenant {value:?} is not a uuid")))?;
                    context.tenant_id = Some(tenant_id);
                }
                "u" => context.user_id = Some(text()?).filter(|user| !user.is_empty()),
                "r" => {
                    context.roles = value
                        .split(',')
                        .filter(|role| !role.is_empty())
                        .map(|role| {
                            percent_decode(role).ok_or_else(|| {
                                invalid("roles are not percent-encoded text".to_string())
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "tier" => context.tier = Some(text()?).filter(|tier| !tier.is_empty()),
                "id" => context.request_id = text()?,
                "dl" => {
                    let millis: u64 = value.parse().map_err(|_| {
                        invalid(format!("deadline {value:?} is not unix milliseconds"))
                    })?;
                    context.deadline = Some(UNIX_EPOCH + Duration::from_millis(millis));
                }
                // a newer caller's field: ignore it
                _ => {}
            }
        }
        if context.request_id.is_empty() {
            context.request_id = Uuid::now_v7().to_string();
        }
        Ok(context)
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

fn without_controls(value: &str) -> String {
    value
        .chars()
        .filter(|character| !character.is_control())
        .collect()
}

fn percent_encode_into(encoded: &mut String, value: &str) {
    let needs_encoding =
        |byte: u8| byte <= 0x20 || byte >= 0x7f || matches!(byte, b'%' | b';' | b',' | b'=');
    if !value.bytes().any(needs_encoding) {
        encoded.push_str(value);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if needs_encoding(byte) {
            encoded.push('%');
            encoded.push(HEX[(byte >> 4) as usize] as char);
            encoded.push(HEX[(byte & 0x0f) as usize] as char);
        } else {
            encoded.push(byte as char);
        }
    }
}

fn percent_decode(value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_string());
    }
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = value.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_tier_is_a_number_or_a_plan_name_and_free_otherwise() {
        let with = |tier: Option<&str>| RequestContext {
            tier: tier.map(str::to_string),
            ..RequestContext::empty()
        };
        assert_eq!(with(None).plan_tier(), 1);
        assert_eq!(with(Some("4")).plan_tier(), 4);
        assert_eq!(with(Some("Pro")).plan_tier(), 3);
        assert_eq!(with(Some("enterprise")).plan_tier(), 5);
        assert_eq!(with(Some("gold")).plan_tier(), 1);
    }

    fn full_context() -> RequestContext {
        RequestContext {
            tenant_id: Some(Uuid::new_v4()),
            user_id: Some("user-1".to_string()),
            roles: vec!["admin".to_string(), "editor".to_string()],
            tier: Some("pro".to_string()),
            request_id: "req-1".to_string(),
            deadline: Some(UNIX_EPOCH + Duration::from_millis(1_900_000_000_123)),
            trace_parent: Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
            ),
            trace_state: Some("vendor=1".to_string()),
        }
    }

    #[test]
    fn context_round_trips_through_headers() {
        let context = full_context();
        let mut headers = HeaderMap::new();
        context.write_headers(&mut headers);
        assert_eq!(
            RequestContext::from_headers(Some(&headers)).unwrap(),
            context
        );
    }

    #[test]
    fn the_header_is_compact_and_readable() {
        let mut context = full_context();
        context.tenant_id = Some(Uuid::parse_str("4bf92f35-77b3-4da6-a3ce-929d0e0e4736").unwrap());
        assert_eq!(
            context.encode(),
            "t=4bf92f35-77b3-4da6-a3ce-929d0e0e4736;u=user-1;r=admin,editor;tier=pro;id=req-1;dl=1900000000123"
        );
        assert_eq!(
            RequestContext::internal().encode().split(';').count(),
            1,
            "only the request id"
        );
    }

    #[test]
    fn separators_and_unicode_in_values_survive() {
        let mut context = full_context();
        context.user_id = Some("eve;r=admin,root=%x Zoë\r\n".to_string());
        context.roles = vec!["a,b".to_string(), "c=d".to_string()];
        let mut headers = HeaderMap::new();
        context.write_headers(&mut headers);
        let parsed = RequestContext::from_headers(Some(&headers)).unwrap();
        assert_eq!(parsed.user_id, context.user_id);
        assert_eq!(parsed.roles, context.roles);
        assert!(!parsed.is_admin());
    }

    #[test]
    fn malformed_headers_are_invalid_arguments() {
        for bad in ["t=not-a-uuid", "dl=soon", "u=%zz", "garbage"] {
            let mut headers = HeaderMap::new();
            headers.insert(headers::CONTEXT, bad);
            let error = RequestContext::from_headers(Some(&headers)).unwrap_err();
            assert_eq!(error.code, crate::ErrorCode::InvalidArgument, "{bad}");
            assert!(error.message.contains("Radiant-Context"), "{bad}: {error}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_missing_request_id_is_made_up() {
        let parsed = RequestContext::decode("future=1;tier=free").unwrap();
        assert_eq!(parsed.tier.as_deref(), Some("free"));
        assert!(!parsed.request_id.is_empty());
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
