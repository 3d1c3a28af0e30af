//! `licenses.*`: list, review (admin), compliance summary (admin).

use radiant_bus::{RequestContext, ServiceError};
use radiant_db::sea_orm::TransactionTrait;
use radiant_proto::registry::{
    License, LicenseComplianceRequest, LicenseComplianceSummary, LicenseReviewRequest,
    ListLicensesRequest, ListLicensesResponse,
};
use uuid::Uuid;

use super::{actor, require_admin};
use crate::domain::{validation, vocabulary as vocab};
use crate::error::RegistryResult;
use crate::registry::Registry;
use crate::store;
use crate::store::audit::NewAuditEntry;

#[tracing::instrument(skip_all)]
pub async fn list(
    registry: &Registry,
    _context: RequestContext,
    request: ListLicensesRequest,
) -> RegistryResult<ListLicensesResponse> {
    if !request.model_id.is_empty() {
        validation::model_id("model_id", &request.model_id)?;
    }
    if !request.compliance_status.is_empty()
        && !vocab::is_one_of(&request.compliance_status, vocab::COMPLIANCE_STATUSES)
    {
        return Err(ServiceError::invalid_field(
            "compliance_status",
            "must be compliant, review_needed or non_compliant",
        )
        .into());
    }
    let licenses = store::licenses::list(
        &registry.database,
        &request.model_id,
        &request.compliance_status,
    )
    .await?;
    Ok(ListLicensesResponse { licenses })
}

#[tracing::instrument(skip_all, fields(license_id = %request.license_id))]
pub async fn review(
    registry: &Registry,
    context: RequestContext,
    mut request: LicenseReviewRequest,
) -> RegistryResult<License> {
    require_admin(&context)?;
    let license_id = Uuid::parse_str(&request.license_id)
        .map_err(|_| ServiceError::invalid_field("license_id", "must be a UUID"))?;
    if !vocab::is_one_of(&request.compliance_status, vocab::COMPLIANCE_STATUSES) {
        return Err(ServiceError::invalid_field(
            "compliance_status",
            "must be compliant, review_needed or non_compliant",
        )
        .into());
    }
    validation::text(
        "compliance_notes",
        &mut request.compliance_notes,
        false,
        4000,
    )?;
    let expires_at = if request.expires_at.is_empty() {
        None
    } else {
        Some(validation::timestamp("expires_at", &request.expires_at)?)
    };
    let transaction = registry.database.begin().await?;
    let before = store::licenses::lock(&transaction, license_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("no such license"))?;
    let reviewer = actor(&context);
    let after = store::licenses::review(
        &transaction,
        license_id,
        &request.compliance_status,
        &request.compliance_notes,
        expires_at,
        &reviewer,
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("no such license"))?;
    store::audit::record(
        &transaction,
        NewAuditEntry {
            actor: &reviewer,
            entity_type: "license",
            entity_id: &request.license_id,
            action: "review",
            summary: format!(
                "{} license of {} reviewed: {} -> {}",
                after.spdx_id, after.model_id, before.compliance_status, after.compliance_status
            ),
            before: Some(serde_json::to_value(&before)?),
            after: Some(serde_json::to_value(&after)?),
            request_id: &context.request_id,
        },
    )
    .await?;
    transaction.commit().await?;
    Ok(after)
}

#[tracing::instrument(skip_all)]
pub async fn compliance(
    registry: &Registry,
    context: RequestContext,
    _request: LicenseComplianceRequest,
) -> RegistryResult<LicenseComplianceSummary> {
    require_admin(&context)?;
    Ok(store::licenses::compliance_summary(&registry.database).await?)
}
