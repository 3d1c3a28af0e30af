//! `workflows.*`: reads for everyone, writes for admins, every write audited.

use radiant_bus::{RequestContext, ServiceError};
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::registry::{
    DeleteWorkflowRequest, GetWorkflowRequest, ListWorkflowsRequest, ListWorkflowsResponse,
    UpsertWorkflowRequest, Workflow,
};

use super::{actor, require_admin, summary_or};
use crate::domain::workflow;
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;
use crate::store::audit::NewAuditEntry;

fn not_found(workflow_id: &str) -> ServiceError {
    ServiceError::not_found(format!("no workflow {workflow_id}"))
}

#[tracing::instrument(skip_all, fields(workflow_id = %request.workflow_id))]
pub async fn get(
    registry: &Registry,
    _context: RequestContext,
    request: GetWorkflowRequest,
) -> RegistryResult<Workflow> {
    Ok(
        store::workflows::get(&registry.database, &request.workflow_id)
            .await?
            .ok_or_else(|| not_found(&request.workflow_id))?,
    )
}

#[tracing::instrument(skip_all)]
pub async fn list(
    registry: &Registry,
    context: RequestContext,
    request: ListWorkflowsRequest,
) -> RegistryResult<ListWorkflowsResponse> {
    // disabled workflows are the admins' business
    let include_disabled = request.include_disabled && context.is_admin();
    Ok(ListWorkflowsResponse {
        workflows: store::workflows::list(&registry.database, include_disabled).await?,
    })
}

/// Every inference task must name a model the registry has.
async fn check_models(registry: &Registry, workflow: &Workflow) -> RegistryResult<()> {
    let catalogue = registry.view.catalogue();
    for (index, task) in workflow.tasks.iter().enumerate() {
        if task.task_type == "inference"
            && catalogue.get(&task.model_id).is_none()
            && store::models::get(&registry.database, &task.model_id)
                .await?
                .is_none()
        {
            return Err(ServiceError::invalid_field(
                &format!("workflow.tasks[{index}].model_id"),
                format!("no model {}", task.model_id),
            )
            .into());
        }
    }
    Ok(())
}

fn take_workflow(request: &mut UpsertWorkflowRequest) -> Result<Workflow, ServiceError> {
    let mut workflow = request
        .workflow
        .take()
        .ok_or_else(|| ServiceError::invalid_field("workflow", "is required"))?;
    workflow::validate(&mut workflow)?;
    crate::domain::validation::text("reason", &mut request.reason, false, 2000)?;
    Ok(workflow)
}

#[tracing::instrument(skip_all)]
pub async fn create(
    registry: &Registry,
    context: RequestContext,
    mut request: UpsertWorkflowRequest,
) -> RegistryResult<Workflow> {
    require_admin(&context)?;
    let mut workflow = take_workflow(&mut request)?;
    workflow.enabled = true;
    check_models(registry, &workflow).await?;
    let transaction = registry.database.begin().await?;
    if !store::workflows::insert(&transaction, &workflow).await? {
        return Err(ServiceError::conflict(format!(
            "a workflow {} exists already",
            workflow.workflow_id
        ))
        .into());
    }
    let created = store::workflows::get(&transaction, &workflow.workflow_id)
        .await?
        .ok_or_else(|| not_found(&workflow.workflow_id))?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "workflow",
            entity_id: &workflow.workflow_id,
            action: "create",
            summary: summary_or(&request.reason, || {
                format!("created workflow {}", workflow.workflow_id)
            }),
            before: None,
            after: Some(serde_json::to_value(&created)?),
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(created)
}

#[tracing::instrument(skip_all)]
pub async fn update(
    registry: &Registry,
    context: RequestContext,
    mut request: UpsertWorkflowRequest,
) -> RegistryResult<Workflow> {
    require_admin(&context)?;
    let workflow = take_workflow(&mut request)?;
    check_models(registry, &workflow).await?;
    let transaction = registry.database.begin().await?;
    let before = store::workflows::lock(&transaction, &workflow.workflow_id)
        .await?
        .ok_or_else(|| not_found(&workflow.workflow_id))?;
    if request.expected_revision != 0 && request.expected_revision != before.revision {
        return Err(ServiceError::conflict(format!(
            "the workflow is at revision {}, not {}; read it again",
            before.revision, request.expected_revision
        ))
        .into());
    }
    let after = store::workflows::replace(&transaction, &workflow).await?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "workflow",
            entity_id: &workflow.workflow_id,
            action: "update",
            summary: summary_or(&request.reason, || {
                format!("updated workflow {}", workflow.workflow_id)
            }),
            before: Some(serde_json::to_value(&before)?),
            after: Some(serde_json::to_value(&after)?),
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all, fields(workflow_id = %request.workflow_id))]
pub async fn delete(
    registry: &Registry,
    context: RequestContext,
    mut request: DeleteWorkflowRequest,
) -> RegistryResult<Workflow> {
    require_admin(&context)?;
    crate::domain::validation::text("reason", &mut request.reason, false, 2000)?;
    let transaction = registry.database.begin().await?;
    let before = store::workflows::lock(&transaction, &request.workflow_id)
        .await?
        .ok_or_else(|| not_found(&request.workflow_id))?;
    store::workflows::mark_deleted(&transaction, &request.workflow_id).await?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &actor(&context),
            entity_type: "workflow",
            entity_id: &request.workflow_id,
            action: "delete",
            summary: summary_or(&request.reason, || {
                format!("deleted workflow {}", request.workflow_id)
            }),
            before: Some(serde_json::to_value(&before)?),
            after: None,
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(before)
}
