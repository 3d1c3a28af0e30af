//! `event_outbox`: the events owed for committed snapshots (ids only, no tenant content).

use std::time::Duration;

use radiant_db::sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::statement;

pub async fn mark_published<C: ConnectionTrait>(
    connection: &C,
    snapshot_ids: &[Uuid],
) -> Result<u64, DbErr> {
    if snapshot_ids.is_empty() {
        return Ok(0);
    }
    let result = connection
        .execute_raw(statement(
            "UPDATE event_outbox SET published_at = now() WHERE snapshot_id = ANY($1) AND published_at IS NULL",
            [snapshot_ids.to_vec().into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Owed events older than `grace` (the publisher had its chance), oldest first, locked so two
/// relays never work the same rows.
pub async fn claim_overdue<C: ConnectionTrait>(
    connection: &C,
    grace: Duration,
    limit: u32,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let rows = connection
        .query_all_raw(statement(
            "SELECT snapshot_id, owner_tenant FROM event_outbox \
             WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1) \
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            [(grace.as_secs_f64()).into(), (limit as i64).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("", "snapshot_id")?,
                row.try_get("", "owner_tenant")?,
            ))
        })
        .collect()
}

pub async fn pending_count<C: ConnectionTrait>(connection: &C) -> Result<i64, DbErr> {
    let row = connection
        .query_one_raw(statement(
            "SELECT count(*) AS pending FROM event_outbox WHERE published_at IS NULL",
            [],
        ))
        .await?;
    row.map(|row| row.try_get("", "pending"))
        .transpose()
        .map(Option::unwrap_or_default)
}
