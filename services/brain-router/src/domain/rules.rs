//! Tenant and global routing rules: the first active rule whose conditions match names the
//! model (and its fallbacks) before any scoring.

use super::context::{RoutingContext, TaskType};

/// When a rule applies; an absent condition matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub task_type: Option<TaskType>,
    pub min_tokens: Option<u32>,
    pub max_tokens: Option<u32>,
    pub min_tier: Option<u32>,
    pub max_tier: Option<u32>,
    pub needs_vision: Option<bool>,
    pub hipaa: Option<bool>,
    /// Only these users (empty: everyone).
    pub user_ids: Vec<String>,
}

impl Conditions {
    pub fn matches(&self, context: &RoutingContext) -> bool {
        let within = |value: u32, low: Option<u32>, high: Option<u32>| {
            low.is_none_or(|low| value >= low) && high.is_none_or(|high| value <= high)
        };
        self.task_type.is_none_or(|task| task == context.task_type)
            && within(context.input_tokens, self.min_tokens, self.max_tokens)
            && within(context.tier, self.min_tier, self.max_tier)
            && self
                .needs_vision
                .is_none_or(|vision| vision == context.needs_vision)
            && self.hipaa.is_none_or(|hipaa| hipaa == context.hipaa)
            && (self.user_ids.is_empty() || self.user_ids.contains(&context.user_id))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub rule_id: String,
    /// `None`: a global rule.
    pub tenant_id: Option<String>,
    pub name: String,
    /// Lower runs first.
    pub priority: i32,
    pub conditions: Conditions,
    pub target_model: String,
    pub fallback_models: Vec<String>,
    pub active: bool,
}

/// Rules in the order they are tried: priority, then a tenant's rule before a global one,
/// then id (so the order never depends on how they were loaded).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    pub fn new(mut rules: Vec<Rule>) -> RuleSet {
        rules.retain(|rule| rule.active);
        rules.sort_by(|left, right| {
            left.priority
                .cmp(&right.priority)
                .then(right.tenant_id.is_some().cmp(&left.tenant_id.is_some()))
                .then(left.rule_id.cmp(&right.rule_id))
        });
        RuleSet { rules }
    }

    /// The rules that apply to this request, in order: the tenant's own and the global ones.
    pub fn matching<'a>(&'a self, context: &'a RoutingContext) -> impl Iterator<Item = &'a Rule> {
        self.rules.iter().filter(move |rule| {
            rule.tenant_id
                .as_deref()
                .is_none_or(|tenant| tenant == context.tenant_id)
                && rule.conditions.matches(context)
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rule_id: &str, tenant: Option<&str>, priority: i32, conditions: Conditions) -> Rule {
        Rule {
            rule_id: rule_id.to_string(),
            tenant_id: tenant.map(str::to_string),
            name: rule_id.to_string(),
            priority,
            conditions,
            target_model: format!("{rule_id}-model"),
            fallback_models: Vec::new(),
            active: true,
        }
    }

    #[test]
    fn rules_match_by_condition_in_priority_order_tenant_first() {
        let code_only = Conditions {
            task_type: Some(TaskType::Code),
            ..Default::default()
        };
        let mut inactive = rule("inactive", None, 0, Conditions::default());
        inactive.active = false;
        let rules = RuleSet::new(vec![
            rule("global-any", None, 100, Conditions::default()),
            rule("tenant-any", Some("acme"), 100, Conditions::default()),
            rule("other-tenant", Some("globex"), 1, Conditions::default()),
            rule("global-code", None, 10, code_only),
            inactive,
        ]);
        assert_eq!(rules.len(), 4);
        let mut context = RoutingContext::new("acme", "ann", 2, TaskType::Chat);
        let names = |context: &RoutingContext| {
            rules
                .matching(context)
                .map(|rule| rule.rule_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&context), ["tenant-any", "global-any"]);
        context.task_type = TaskType::Code;
        assert_eq!(names(&context), ["global-code", "tenant-any", "global-any"]);
    }

    #[test]
    fn every_condition_is_checked() {
        let conditions = Conditions {
            min_tokens: Some(100),
            max_tokens: Some(1_000),
            min_tier: Some(3),
            max_tier: None,
            needs_vision: Some(false),
            hipaa: Some(true),
            user_ids: vec!["ann".to_string()],
            task_type: None,
        };
        let mut context = RoutingContext::new("acme", "ann", 3, TaskType::Chat);
        context.input_tokens = 500;
        context.hipaa = true;
        assert!(conditions.matches(&context));
        for change in [
            |context: &mut RoutingContext| context.input_tokens = 99,
            |context: &mut RoutingContext| context.input_tokens = 1_001,
            |context: &mut RoutingContext| context.tier = 2,
            |context: &mut RoutingContext| context.needs_vision = true,
            |context: &mut RoutingContext| context.hipaa = false,
            |context: &mut RoutingContext| context.user_id = "bob".to_string(),
        ] {
            let mut changed = context.clone();
            change(&mut changed);
            assert!(!conditions.matches(&changed), "{changed:?}");
        }
    }
}
