//! `model_licenses` and `model_dependencies`. An admin write supersedes a model's current
//! licenses and dependencies with the new set; the old rows stay, marked superseded.

use chrono::{DateTime, Utc};
use radiant_db::sea_orm::{ConnectionTrait, DbErr, QueryResult};
use radiant_proto::registry::{Dependency, License, LicenseComplianceSummary};
use uuid::Uuid;

use super::{json_value, statement};
use crate::domain::rfc3339_optional;

const COLUMNS: &str = "license_id, model_id, covers, spdx_id, url, commercial_use, commercial_notes, attribution_required, \
    attribution_text, share_alike, compliance_status, compliance_notes, reviewed_by, reviewed_at, expires_at";

fn from_row(row: &QueryResult) -> Result<License, DbErr> {
    Ok(License {
        license_id: row.try_get::<Uuid>("", "license_id")?.to_string(),
        model_id: row.try_get("", "model_id")?,
        covers: row.try_get("", "covers")?,
        spdx_id: row.try_get("", "spdx_id")?,
        url: row.try_get("", "url")?,
        commercial_use: row.try_get("", "commercial_use")?,
        commercial_notes: row.try_get("", "commercial_notes")?,
        attribution_required: row.try_get("", "attribution_required")?,
        attribution_text: row.try_get("", "attribution_text")?,
        share_alike: row.try_get("", "share_alike")?,
        compliance_status: row.try_get("", "compliance_status")?,
        compliance_notes: row.try_get("", "compliance_notes")?,
        reviewed_by: row
            .try_get::<Option<String>>("", "reviewed_by")?
            .unwrap_or_default(),
        reviewed_at: rfc3339_optional(row.try_get("", "reviewed_at")?),
        expires_at: rfc3339_optional(row.try_get("", "expires_at")?),
    })
}

fn time(value: &str) -> Option<DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Supersedes the model's current licenses and writes `licenses` (validated) in their place.
pub async fn replace_for_model(
    connection: &impl ConnectionTrait,
    model_id: &str,
    licenses: &[License],
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE model_licenses SET superseded_at = now() WHERE model_id = $1 AND superseded_at IS NULL",
            [model_id.into()],
        ))
        .await?;
    for license in licenses {
        connection
            .execute_raw(statement(
                "INSERT INTO model_licenses (license_id, model_id, covers, spdx_id, url, commercial_use, commercial_notes, \
                 attribution_required, attribution_text, share_alike, compliance_status, compliance_notes, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                [
                    Uuid::now_v7().into(),
                    model_id.into(),
                    license.covers.clone().into(),
                    license.spdx_id.clone().into(),
                    license.url.clone().into(),
                    license.commercial_use.into(),
                    license.commercial_notes.clone().into(),
                    license.attribution_required.into(),
                    license.attribution_text.clone().into(),
                    license.share_alike.into(),
                    license.compliance_status.clone().into(),
                    license.compliance_notes.clone().into(),
                    time(&license.expires_at).into(),
                ],
            ))
            .await?;
    }
    Ok(())
}

pub async fn for_model(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Vec<License>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!("SELECT {COLUMNS} FROM model_licenses WHERE model_id = $1 AND superseded_at IS NULL ORDER BY covers, spdx_id"),
            [model_id.into()],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn list(
    connection: &impl ConnectionTrait,
    model_id: &str,
    compliance_status: &str,
) -> Result<Vec<License>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM model_licenses WHERE superseded_at IS NULL AND ($1 = '' OR model_id = $1) \
                 AND ($2 = '' OR compliance_status = $2) ORDER BY model_id, covers, spdx_id LIMIT 5000"
            ),
            [model_id.into(), compliance_status.into()],
        ))
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn lock(
    connection: &impl ConnectionTrait,
    license_id: Uuid,
) -> Result<Option<License>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!("SELECT {COLUMNS} FROM model_licenses WHERE license_id = $1 AND superseded_at IS NULL FOR UPDATE"),
            [license_id.into()],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

pub async fn review(
    connection: &impl ConnectionTrait,
    license_id: Uuid,
    compliance_status: &str,
    compliance_notes: &str,
    expires_at: Option<DateTime<Utc>>,
    reviewer: &str,
) -> Result<Option<License>, DbErr> {
    connection
        .query_one_raw(statement(
            &format!(
                "UPDATE model_licenses SET compliance_status = $2, compliance_notes = $3, expires_at = COALESCE($4, expires_at), \
                 reviewed_by = $5, reviewed_at = now() WHERE license_id = $1 AND superseded_at IS NULL RETURNING {COLUMNS}"
            ),
            [
                license_id.into(),
                compliance_status.into(),
                compliance_notes.into(),
                expires_at.into(),
                reviewer.into(),
            ],
        ))
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

/// Counts over current licenses: commercial use allowed and compliant, review needed,
/// non-compliant, and those expiring within 30 days (already expired ones count as
/// non-compliant attention items, not as "expiring").
pub async fn compliance_summary(
    connection: &impl ConnectionTrait,
) -> Result<LicenseComplianceSummary, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS total, \
               count(*) FILTER (WHERE commercial_use AND compliance_status = 'compliant' AND (expires_at IS NULL OR expires_at > now())) AS commercial_ok, \
               count(*) FILTER (WHERE compliance_status = 'review_needed') AS review_needed, \
               count(*) FILTER (WHERE compliance_status = 'non_compliant' OR expires_at <= now()) AS non_compliant, \
               count(*) FILTER (WHERE expires_at > now() AND expires_at <= now() + interval '30 days') AS expiring \
             FROM model_licenses WHERE superseded_at IS NULL",
            [],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no summary row".to_string()))?;
    let count =
        |name: &str| -> Result<u32, DbErr> { Ok(row.try_get::<i64>("", name)?.max(0) as u32) };
    let expiring = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM model_licenses WHERE superseded_at IS NULL AND expires_at > now() \
                 AND expires_at <= now() + interval '30 days' ORDER BY expires_at LIMIT 100"
            ),
            [],
        ))
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let attention = connection
        .query_all_raw(statement(
            &format!(
                "SELECT {COLUMNS} FROM model_licenses WHERE superseded_at IS NULL AND (compliance_status <> 'compliant' \
                 OR NOT commercial_use OR expires_at <= now()) ORDER BY compliance_status DESC, model_id LIMIT 100"
            ),
            [],
        ))
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LicenseComplianceSummary {
        total: count("total")?,
        commercial_ok: count("commercial_ok")?,
        review_needed: count("review_needed")?,
        non_compliant: count("non_compliant")?,
        expiring_within_30_days: count("expiring")?,
        expiring,
        attention,
    })
}

pub async fn replace_dependencies(
    connection: &impl ConnectionTrait,
    model_id: &str,
    dependencies: &[Dependency],
) -> Result<(), DbErr> {
    connection
        .execute_raw(statement(
            "UPDATE model_dependencies SET superseded_at = now() WHERE model_id = $1 AND superseded_at IS NULL",
            [model_id.into()],
        ))
        .await?;
    for dependency in dependencies {
        let document =
            serde_json::to_value(dependency).map_err(|error| DbErr::Custom(error.to_string()))?;
        connection
            .execute_raw(statement(
                "INSERT INTO model_dependencies (dependency_id, model_id, dependency_type, name, document) VALUES ($1, $2, $3, $4, $5)",
                [
                    Uuid::now_v7().into(),
                    model_id.into(),
                    dependency.dependency_type.clone().into(),
                    dependency.name.clone().into(),
                    json_value(document),
                ],
            ))
            .await?;
    }
    Ok(())
}

pub async fn dependencies_for_model(
    connection: &impl ConnectionTrait,
    model_id: &str,
) -> Result<Vec<Dependency>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT document FROM model_dependencies WHERE model_id = $1 AND superseded_at IS NULL ORDER BY dependency_type, name",
            [model_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let document: serde_json::Value = row.try_get("", "document")?;
            serde_json::from_value(document).map_err(|error| DbErr::Custom(error.to_string()))
        })
        .collect()
}

pub async fn count(connection: &impl ConnectionTrait) -> Result<u32, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS count FROM model_licenses WHERE superseded_at IS NULL",
            [],
        ))
        .await?;
    Ok(row
        .map(|row| row.try_get::<i64>("", "count"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u32)
}
