//! What a request asks of the router, checked at the edge.

use super::decide::RouteError;

/// What the request is for. Decides which quality figure counts and which rules match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskType {
    Chat,
    Code,
    Analysis,
    Creative,
    Vision,
    Audio,
}

impl TaskType {
    pub const ALL: [TaskType; 6] = [
        TaskType::Chat,
        TaskType::Code,
        TaskType::Analysis,
        TaskType::Creative,
        TaskType::Vision,
        TaskType::Audio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Chat => "chat",
            TaskType::Code => "code",
            TaskType::Analysis => "analysis",
            TaskType::Creative => "creative",
            TaskType::Vision => "vision",
            TaskType::Audio => "audio",
        }
    }

    pub fn parse(value: &str) -> Option<TaskType> {
        TaskType::ALL
            .into_iter()
            .find(|task| task.as_str() == value)
    }

    /// Position in [`TaskType::ALL`], for per-task tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

pub const MIN_TIER: u32 = 1;
pub const MAX_TIER: u32 = 5;

/// A routing request: who asks, for what, within which limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingContext {
    pub tenant_id: String,
    pub user_id: String,
    /// The tenant's plan, 1 (free) ..= 5 (enterprise): a model's `min_tier` must not exceed it.
    pub tier: u32,
    pub task_type: TaskType,
    pub input_tokens: u32,
    /// The answer's budget; `None`: 1.5 × the prompt, between 256 and 4,096 tokens.
    pub max_output_tokens: Option<u32>,
    /// USD for the whole request.
    pub max_cost_usd: Option<f64>,
    pub max_latency_ms: Option<f64>,
    pub preferred_provider: Option<String>,
    pub needs_vision: bool,
    pub needs_audio: bool,
    pub hipaa: bool,
    pub min_context_window: u32,
}

impl RoutingContext {
    pub fn new(tenant_id: &str, user_id: &str, tier: u32, task_type: TaskType) -> Self {
        RoutingContext {
            tenant_id: tenant_id.to_string(),
            user_id: user_id.to_string(),
            tier,
            task_type,
            input_tokens: 0,
            max_output_tokens: None,
            max_cost_usd: None,
            max_latency_ms: None,
            preferred_provider: None,
            needs_vision: false,
            needs_audio: false,
            hipaa: false,
            min_context_window: 0,
        }
    }

    /// Refuses limits that cannot be met by any model (so they are never silently ignored).
    pub fn validate(&self) -> Result<(), RouteError> {
        if !(MIN_TIER..=MAX_TIER).contains(&self.tier) {
            return Err(RouteError::invalid(
                "tier",
                format!("must be between {MIN_TIER} and {MAX_TIER}"),
            ));
        }
        if let Some(cost) = self.max_cost_usd
            && !(cost.is_finite() && cost >= 0.0)
        {
            return Err(RouteError::invalid(
                "max_cost",
                "must be a non-negative number of USD",
            ));
        }
        if let Some(latency) = self.max_latency_ms
            && !(latency.is_finite() && latency > 0.0)
        {
            return Err(RouteError::invalid(
                "max_latency_ms",
                "must be a positive number of milliseconds",
            ));
        }
        if self.max_output_tokens == Some(0) {
            return Err(RouteError::invalid(
                "max_tokens",
                "must be at least 1 when given",
            ));
        }
        Ok(())
    }

    /// Tokens the answer is expected to take (for cost estimates).
    pub fn expected_output_tokens(&self) -> u32 {
        self.max_output_tokens
            .unwrap_or_else(|| (u64::from(self.input_tokens) * 3 / 2).clamp(256, 4_096) as u32)
    }

    /// The context window a model needs: the prompt plus room for a short answer, or the
    /// caller's minimum if larger.
    pub fn needed_context(&self) -> u32 {
        let answer_room = self
            .max_output_tokens
            .unwrap_or(MIN_ANSWER_TOKENS)
            .min(MIN_ANSWER_TOKENS);
        self.input_tokens
            .saturating_add(answer_room)
            .max(self.min_context_window)
    }
}

/// Room a model must leave after the prompt for an answer to be worth starting.
pub const MIN_ANSWER_TOKENS: u32 = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_types_round_trip_and_unknown_ones_are_refused() {
        for task in TaskType::ALL {
            assert_eq!(TaskType::parse(task.as_str()), Some(task));
            assert_eq!(TaskType::ALL[task.index()], task);
        }
        assert_eq!(TaskType::parse("poetry"), None);
    }

    #[test]
    fn limits_that_no_model_can_meet_are_refused_naming_the_field() {
        let context = RoutingContext::new("t", "u", 3, TaskType::Chat);
        assert!(context.validate().is_ok());
        let field_of = |context: RoutingContext| match context.validate() {
            Err(RouteError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field_of(RoutingContext {
                tier: 0,
                ..context.clone()
            }),
            "tier"
        );
        assert_eq!(
            field_of(RoutingContext {
                tier: 6,
                ..context.clone()
            }),
            "tier"
        );
        assert_eq!(
            field_of(RoutingContext {
                max_cost_usd: Some(-1.0),
                ..context.clone()
            }),
            "max_cost"
        );
        assert_eq!(
            field_of(RoutingContext {
                max_latency_ms: Some(f64::NAN),
                ..context.clone()
            }),
            "max_latency_ms"
        );
        assert_eq!(
            field_of(RoutingContext {
                max_output_tokens: Some(0),
                ..context
            }),
            "max_tokens"
        );
    }

    #[test]
    fn budgets_follow_the_prompt() {
        let mut context = RoutingContext::new("t", "u", 3, TaskType::Chat);
        context.input_tokens = 100;
        assert_eq!(context.expected_output_tokens(), 256, "at least 256");
        context.input_tokens = 2_000;
        assert_eq!(context.expected_output_tokens(), 3_000);
        assert_eq!(context.needed_context(), 2_064);
        context.max_output_tokens = Some(10);
        assert_eq!(
            context.needed_context(),
            2_010,
            "a short answer needs less room"
        );
        context.min_context_window = 100_000;
        assert_eq!(context.needed_context(), 100_000);
    }
}
