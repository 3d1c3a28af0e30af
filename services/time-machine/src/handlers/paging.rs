//! Page tokens: opaque to clients, `<kind>:<number>` to us (the last version or position a
//! page ended at), refused with 400 when they are not ours.

use radiant_bus::ServiceError;

pub fn encode(kind: &str, after: i64) -> String {
    format!("{kind}:{after}")
}

pub fn decode(kind: &str, token: &str) -> Result<Option<i64>, ServiceError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    token
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|number| number.parse::<i64>().ok())
        .filter(|number| *number >= 0)
        .map(Some)
        .ok_or_else(|| {
            ServiceError::invalid_field("page_token", "is not a token this list gave out")
        })
}

/// The first items whose encoding fits in `budget` bytes (at least one); true when some were
/// left out. Replies stay within one NATS message however long the messages are.
pub fn within_budget<T: prost::Message>(items: Vec<T>, mut budget: usize) -> (Vec<T>, bool) {
    let total = items.len();
    let mut kept = Vec::with_capacity(total);
    for item in items {
        let size = item.encoded_len() + 8;
        if size > budget && !kept.is_empty() {
            break;
        }
        budget = budget.saturating_sub(size);
        kept.push(item);
    }
    let cut = kept.len() < total;
    (kept, cut)
}

/// A time-expression error from `domain::when`, as a 400 naming the field.
pub fn invalid(field: &str, message: String) -> ServiceError {
    ServiceError::invalid_argument(message.clone()).with_field_violation(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode("v", &encode("v", 42)).unwrap(), Some(42));
        assert_eq!(decode("v", "").unwrap(), None);
        assert!(decode("v", "p:3").is_err());
        assert!(decode("v", "v:-1").is_err());
        assert!(decode("v", "v:x").is_err());
    }
}
