//! Units of work scoped to one tenant.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use uuid::Uuid;

/// Begins a transaction whose first statement sets `app.tenant_id` (transaction-local), for
/// work that borrows from its surroundings. Commit it explicitly; dropping it rolls back.
pub async fn begin_tenant(
    database: &DatabaseConnection,
    tenant_id: Uuid,
) -> Result<DatabaseTransaction, DbErr> {
    let transaction = database.begin().await?;
    transaction
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.tenant_id', $1, true)",
            [tenant_id.to_string().into()],
        ))
        .await?;
    Ok(transaction)
}

/// The body of a tenant-scoped unit of work.
pub type TenantWork<'c, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>;

/// Runs `work` in a transaction whose first statement sets `app.tenant_id` (transaction-local),
/// so every row level security policy sees only `tenant_id`'s rows. Commits on `Ok`, rolls
/// back on `Err`; dropping the future (a deadline) rolls back too.
pub async fn with_tenant<T, E, Work>(
    database: &DatabaseConnection,
    tenant_id: Uuid,
    work: Work,
) -> Result<T, E>
where
    Work: for<'c> FnOnce(&'c DatabaseTransaction) -> TenantWork<'c, T, E>,
    E: From<DbErr>,
{
    let transaction = begin_tenant(database, tenant_id).await?;
    match work(&transaction).await {
        Ok(value) => {
            transaction.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback_error) = transaction.rollback().await {
                tracing::warn!(%rollback_error, "rollback failed; the connection discards the transaction");
            }
            Err(error)
        }
    }
}
