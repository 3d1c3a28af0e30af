//! What a sync changes: the catalogue snapshot against what the registry holds from that
//! source. New models are added for review (the first import is the baseline and goes live),
//! vanished ones are deprecated (never deleted), returning ones are reinstated, and changed
//! prices are updated.

use std::collections::{HashMap, HashSet};

use radiant_proto::registry::{Model, Pricing};

/// A model the registry holds from the source.
#[derive(Debug, Clone)]
pub struct Known {
    pub model_id: String,
    pub pricing: Pricing,
    pub status: String,
}

#[derive(Debug, Default)]
pub struct DiffPlan {
    pub add: Vec<Model>,
    pub price_updates: Vec<(String, Pricing)>,
    pub deprecate: Vec<String>,
    pub reinstate: Vec<String>,
}

/// Prices within a ten-thousandth of a cent per million tokens are the same price.
fn same_price(left: f64, right: f64) -> bool {
    (left - right).abs() < 1e-6
}

pub fn same_pricing(left: &Pricing, right: &Pricing) -> bool {
    same_price(left.input_per_million, right.input_per_million)
        && same_price(left.output_per_million, right.output_per_million)
        && same_price(left.cache_read_per_million, right.cache_read_per_million)
        && same_price(left.cache_write_per_million, right.cache_write_per_million)
        && same_price(left.per_request, right.per_request)
        && same_price(left.per_image, right.per_image)
}

/// `snapshot`: (source key, model) pairs; `known`: by source key. `prices_only` (the pricing
/// sync) leaves membership alone.
pub fn plan(
    snapshot: Vec<(String, Model)>,
    known: &HashMap<String, Known>,
    prices_only: bool,
) -> DiffPlan {
    let first_import = known.is_empty();
    let mut plan = DiffPlan::default();
    let mut seen = HashSet::with_capacity(snapshot.len());
    for (source_key, mut model) in snapshot {
        seen.insert(source_key.clone());
        let Some(existing) = known.get(&source_key) else {
            if !prices_only {
                model.status = if first_import {
                    "active"
                } else {
                    "pending_review"
                }
                .to_string();
                plan.add.push(model);
            }
            continue;
        };
        let pricing = model.pricing.unwrap_or_default();
        if !same_pricing(&existing.pricing, &pricing) {
            plan.price_updates
                .push((existing.model_id.clone(), pricing));
        }
        if !prices_only && existing.status == "deprecated" {
            plan.reinstate.push(existing.model_id.clone());
        }
    }
    if !prices_only {
        let mut vanished: Vec<String> = known
            .iter()
            .filter(|(source_key, existing)| {
                !seen.contains(*source_key) && existing.status != "deprecated"
            })
            .map(|(_, existing)| existing.model_id.clone())
            .collect();
        vanished.sort();
        plan.deprecate = vanished;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, input: f64) -> (String, Model) {
        (
            id.to_string(),
            Model {
                model_id: id.to_string(),
                pricing: Some(Pricing {
                    input_per_million: input,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
    }

    fn known(id: &str, input: f64, status: &str) -> (String, Known) {
        (
            id.to_string(),
            Known {
                model_id: id.to_string(),
                pricing: Pricing {
                    input_per_million: input,
                    ..Default::default()
                },
                status: status.to_string(),
            },
        )
    }

    #[test]
    fn the_first_import_is_live_and_later_additions_wait_for_review() {
        let first = plan(vec![model("a", 1.0)], &HashMap::new(), false);
        assert_eq!(first.add[0].status, "active");
        let existing: HashMap<_, _> = [known("a", 1.0, "active")].into_iter().collect();
        let later = plan(vec![model("a", 1.0), model("b", 2.0)], &existing, false);
        assert_eq!(later.add.len(), 1);
        assert_eq!(later.add[0].status, "pending_review");
        assert!(later.price_updates.is_empty());
    }

    #[test]
    fn vanished_are_deprecated_returning_reinstated_prices_updated() {
        let existing: HashMap<_, _> = [
            known("kept", 1.0, "active"),
            known("gone", 1.0, "active"),
            known("back", 1.0, "deprecated"),
            known("old-gone", 1.0, "deprecated"),
        ]
        .into_iter()
        .collect();
        let result = plan(
            vec![model("kept", 1.5), model("back", 1.0)],
            &existing,
            false,
        );
        assert_eq!(result.deprecate, vec!["gone"]);
        assert_eq!(result.reinstate, vec!["back"]);
        assert_eq!(result.price_updates.len(), 1);
        assert_eq!(result.price_updates[0].0, "kept");
        let prices_only = plan(vec![model("kept", 1.5), model("new", 1.0)], &existing, true);
        assert!(prices_only.add.is_empty() && prices_only.deprecate.is_empty());
        assert_eq!(prices_only.price_updates.len(), 1);
    }
}
