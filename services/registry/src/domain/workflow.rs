//! Workflow definitions: tasks form a DAG (unique ids, known dependencies, no cycles) and
//! parameters are typed, with validation rules that agree with their defaults.

use std::collections::{HashMap, HashSet};

use radiant_bus::ServiceError;
use radiant_proto::registry::{Workflow, WorkflowParameter};

use super::validation::{self, Checked};
use super::vocabulary as vocab;

const MAX_TASKS: usize = 200;
const MAX_PARAMETERS: usize = 200;

fn identifier(field: &str, value: &str) -> Checked<()> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid {
        return Ok(());
    }
    Err(ServiceError::invalid_field(
        field,
        "must be 1 to 100 letters, digits, _ and - starting with a letter or digit",
    ))
}

pub fn validate(workflow: &mut Workflow) -> Checked<()> {
    let workflow_id = workflow.workflow_id.trim().to_string();
    let valid_id = !workflow_id.is_empty()
        && workflow_id.len() <= 100
        && workflow_id.as_bytes()[0].is_ascii_alphanumeric()
        && workflow_id.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_' || byte == b'-'
        });
    if !valid_id {
        return Err(ServiceError::invalid_field(
            "workflow.workflow_id",
            "must be 1 to 100 lowercase letters, digits, _ and - starting with a letter or digit",
        ));
    }
    workflow.workflow_id = workflow_id;
    workflow.name = workflow.name.trim().to_string();
    if workflow.name.is_empty() || workflow.name.len() > 200 {
        return Err(ServiceError::invalid_field(
            "workflow.name",
            "must be 1 to 200 bytes",
        ));
    }
    if !vocab::is_one_of(&workflow.category, vocab::CATEGORIES) {
        return Err(ServiceError::invalid_field(
            "workflow.category",
            format!(
                "\"{}\" is not one of: {}",
                workflow.category,
                vocab::CATEGORIES.join(", ")
            ),
        ));
    }
    if workflow.min_tier == 0 {
        workflow.min_tier = 1;
    }
    validation::tier("workflow.min_tier", workflow.min_tier)?;
    if workflow.tasks.is_empty() || workflow.tasks.len() > MAX_TASKS {
        return Err(ServiceError::invalid_field(
            "workflow.tasks",
            format!("needs 1 to {MAX_TASKS} tasks"),
        ));
    }
    let mut task_ids = HashSet::new();
    for (index, task) in workflow.tasks.iter_mut().enumerate() {
        let field = |name: &str| format!("workflow.tasks[{index}].{name}");
        identifier(&field("task_id"), &task.task_id)?;
        if !task_ids.insert(task.task_id.clone()) {
            return Err(ServiceError::invalid_field(
                &field("task_id"),
                format!("\"{}\" appears twice", task.task_id),
            ));
        }
        if task.name.trim().is_empty() {
            task.name = task.task_id.clone();
        }
        if !vocab::is_one_of(&task.task_type, vocab::TASK_TYPES) {
            return Err(ServiceError::invalid_field(
                &field("task_type"),
                format!(
                    "\"{}\" is not one of: {}",
                    task.task_type,
                    vocab::TASK_TYPES.join(", ")
                ),
            ));
        }
        if task.task_type == "inference" {
            validation::model_id(&field("model_id"), &task.model_id)?;
        }
        if task.config_json.is_empty() {
            task.config_json = "{}".to_string();
        }
        if !matches!(
            serde_json::from_str::<serde_json::Value>(&task.config_json),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(ServiceError::invalid_field(
                &field("config_json"),
                "must be a JSON object",
            ));
        }
    }
    for (index, task) in workflow.tasks.iter().enumerate() {
        for dependency in &task.depends_on {
            if !task_ids.contains(dependency) || *dependency == task.task_id {
                return Err(ServiceError::invalid_field(
                    &format!("workflow.tasks[{index}].depends_on"),
                    format!("\"{dependency}\" is not another task of this workflow"),
                ));
            }
        }
    }
    if let Some(task_id) = first_task_in_cycle(workflow) {
        return Err(ServiceError::invalid_field(
            "workflow.tasks",
            format!("the dependencies form a cycle through \"{task_id}\""),
        ));
    }
    if workflow.parameters.len() > MAX_PARAMETERS {
        return Err(ServiceError::invalid_field(
            "workflow.parameters",
            "has too many entries",
        ));
    }
    let mut names = HashSet::new();
    for (index, parameter) in workflow.parameters.iter_mut().enumerate() {
        parameter_rules(index, parameter)?;
        if !names.insert(parameter.name.clone()) {
            return Err(ServiceError::invalid_field(
                &format!("workflow.parameters[{index}].name"),
                format!("\"{}\" appears twice", parameter.name),
            ));
        }
    }
    workflow.revision = 0;
    workflow.created_at.clear();
    workflow.updated_at.clear();
    validation::no_nul_characters("workflow", workflow)
}

/// Kahn's algorithm: a task left over once every task without pending dependencies is
/// removed lies on a cycle.
fn first_task_in_cycle(workflow: &Workflow) -> Option<String> {
    let mut pending: HashMap<&str, usize> = workflow
        .tasks
        .iter()
        .map(|task| (task.task_id.as_str(), task.depends_on.len()))
        .collect();
    let mut ready: Vec<&str> = pending
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(task_id, _)| *task_id)
        .collect();
    let mut done = 0;
    while let Some(finished) = ready.pop() {
        done += 1;
        for task in &workflow.tasks {
            if task
                .depends_on
                .iter()
                .any(|dependency| dependency == finished)
            {
                let count = pending.get_mut(task.task_id.as_str())?;
                *count -= 1;
                if *count == 0 {
                    ready.push(task.task_id.as_str());
                }
            }
        }
    }
    if done == workflow.tasks.len() {
        return None;
    }
    let mut left: Vec<&str> = pending
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(task_id, _)| task_id)
        .collect();
    left.sort();
    left.first().map(|task_id| task_id.to_string())
}

fn parameter_rules(index: usize, parameter: &mut WorkflowParameter) -> Checked<()> {
    let field = |name: &str| format!("workflow.parameters[{index}].{name}");
    identifier(&field("name"), &parameter.name)?;
    if !vocab::is_one_of(&parameter.parameter_type, vocab::PARAMETER_TYPES) {
        return Err(ServiceError::invalid_field(
            &field("parameter_type"),
            format!(
                "\"{}\" is not one of: {}",
                parameter.parameter_type,
                vocab::PARAMETER_TYPES.join(", ")
            ),
        ));
    }
    if let Some(ui) = &parameter.ui
        && !ui.widget.is_empty()
        && !vocab::is_one_of(&ui.widget, vocab::WIDGETS)
    {
        return Err(ServiceError::invalid_field(
            &field("ui.widget"),
            format!(
                "\"{}\" is not one of: {}",
                ui.widget,
                vocab::WIDGETS.join(", ")
            ),
        ));
    }
    let validation = parameter.validation.clone().unwrap_or_default();
    if !validation.min.is_finite() || !validation.max.is_finite() {
        return Err(ServiceError::invalid_field(
            &field("validation"),
            "min and max must be finite numbers",
        ));
    }
    for (name, value) in [("validation.pattern", &validation.pattern)] {
        if value.len() > 500 || value.chars().any(char::is_control) {
            return Err(ServiceError::invalid_field(
                &field(name),
                "must be at most 500 bytes of text",
            ));
        }
    }
    if validation.has_min && validation.has_max && validation.min > validation.max {
        return Err(ServiceError::invalid_field(
            &field("validation"),
            "min is above max",
        ));
    }
    if validation.max_length > 0 && validation.min_length > validation.max_length {
        return Err(ServiceError::invalid_field(
            &field("validation"),
            "min_length is above max_length",
        ));
    }
    if parameter.parameter_type == "enum" && validation.allowed_values.is_empty() {
        return Err(ServiceError::invalid_field(
            &field("validation.allowed_values"),
            "an enum parameter needs its allowed values",
        ));
    }
    if parameter.default_json.is_empty() {
        return Ok(());
    }
    let default: serde_json::Value = serde_json::from_str(&parameter.default_json)
        .map_err(|_| ServiceError::invalid_field(&field("default_json"), "is not JSON"))?;
    check_value(&parameter.parameter_type, &validation, &default)
        .map_err(|problem| ServiceError::invalid_field(&field("default_json"), problem))
}

/// Whether `value` is a valid argument for a parameter of this type and validation.
pub fn check_value(
    parameter_type: &str,
    validation: &radiant_proto::registry::ParameterValidation,
    value: &serde_json::Value,
) -> Result<(), String> {
    use serde_json::Value;
    match (parameter_type, value) {
        ("string" | "file", Value::String(text)) => {
            let length = text.chars().count() as u32;
            if validation.max_length > 0 && length > validation.max_length {
                return Err(format!(
                    "is longer than {} characters",
                    validation.max_length
                ));
            }
            if length < validation.min_length {
                return Err(format!(
                    "is shorter than {} characters",
                    validation.min_length
                ));
            }
            Ok(())
        }
        ("enum", Value::String(text)) => {
            if validation
                .allowed_values
                .iter()
                .any(|allowed| allowed == text)
            {
                Ok(())
            } else {
                Err(format!(
                    "must be one of: {}",
                    validation.allowed_values.join(", ")
                ))
            }
        }
        ("integer", Value::Number(number)) if number.is_i64() || number.is_u64() => {
            range(validation, number.as_f64().unwrap_or_default())
        }
        ("number", Value::Number(number)) => range(validation, number.as_f64().unwrap_or_default()),
        ("boolean", Value::Bool(_)) | ("json", _) => Ok(()),
        (parameter_type, _) => Err(format!("is not a valid {parameter_type}")),
    }
}

fn range(
    validation: &radiant_proto::registry::ParameterValidation,
    value: f64,
) -> Result<(), String> {
    if validation.has_min && value < validation.min {
        return Err(format!("is below the minimum {}", validation.min));
    }
    if validation.has_max && value > validation.max {
        return Err(format!("is above the maximum {}", validation.max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use radiant_proto::registry::{ParameterValidation, WorkflowTask};

    use super::*;

    fn task(id: &str, depends_on: &[&str]) -> WorkflowTask {
        WorkflowTask {
            task_id: id.to_string(),
            task_type: "preprocessing".to_string(),
            depends_on: depends_on.iter().map(|id| id.to_string()).collect(),
            ..Default::default()
        }
    }

    fn workflow(tasks: Vec<WorkflowTask>) -> Workflow {
        Workflow {
            workflow_id: "wf".to_string(),
            name: "Workflow".to_string(),
            category: "scientific".to_string(),
            tasks,
            ..Default::default()
        }
    }

    #[test]
    fn a_dag_passes_and_a_cycle_is_named() {
        let mut ok = workflow(vec![
            task("a", &[]),
            task("b", &["a"]),
            task("c", &["a", "b"]),
        ]);
        validate(&mut ok).unwrap();
        let mut cyclic = workflow(vec![
            task("a", &["c"]),
            task("b", &["a"]),
            task("c", &["b"]),
        ]);
        let error = validate(&mut cyclic).unwrap_err();
        assert!(error.message.contains("cycle"), "{error:?}");
        let mut unknown = workflow(vec![task("a", &["zz"])]);
        let error = validate(&mut unknown).unwrap_err();
        assert_eq!(error.field_violations[0].0, "workflow.tasks[0].depends_on");
    }

    #[test]
    fn parameter_defaults_must_pass_their_own_rules() {
        let mut bad = workflow(vec![task("a", &[])]);
        bad.parameters.push(WorkflowParameter {
            name: "num_models".to_string(),
            parameter_type: "integer".to_string(),
            default_json: "9".to_string(),
            validation: Some(ParameterValidation {
                has_min: true,
                min: 1.0,
                has_max: true,
                max: 5.0,
                ..Default::default()
            }),
            ..Default::default()
        });
        let error = validate(&mut bad).unwrap_err();
        assert_eq!(
            error.field_violations[0].0,
            "workflow.parameters[0].default_json"
        );
        bad.parameters[0].default_json = "3".to_string();
        validate(&mut bad).unwrap();
    }
}
