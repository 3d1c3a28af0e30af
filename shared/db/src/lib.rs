//! PostgreSQL for services.
//!
//! Each service owns one database and two roles: an *owner* that runs the migrations and owns
//! the tables, and an *app* role the service connects as, without BYPASSRLS and owning nothing.
//! Tenant tables carry `tenant_id` with `FORCE ROW LEVEL SECURITY` and a policy on
//! `radiant_current_tenant()`; [`with_tenant`] runs a unit of work in a transaction that first
//! sets `app.tenant_id`, so the database itself keeps tenants apart.

mod config;
mod migrate;
mod tenant;

pub use config::DatabaseConfig;
pub use migrate::{Migration, MigrationError, MigrationReport, Migrations, run_migrations};
pub use sea_orm;
pub use tenant::{TenantWork, begin_tenant, with_tenant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};
use secrecy::ExposeSecret;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database as the {role_kind} role: {source}")]
    Connect {
        role_kind: &'static str,
        #[source]
        source: DbErr,
    },
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error("the service role {role} {problem}: it must not bypass row level security")]
    UnsafeServiceRole { role: String, problem: String },
    #[error(transparent)]
    Query(#[from] DbErr),
}

/// The service's pool, connected as the app role.
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, DbError> {
    let options = connect_options(config.url.expose_secret(), config, config.max_connections);
    Database::connect(options)
        .await
        .map_err(|source| DbError::Connect {
            role_kind: "service",
            source,
        })
}

/// One connection as the owner role: session-level advisory locks need a single connection.
pub async fn connect_owner(config: &DatabaseConfig) -> Result<DatabaseConnection, DbError> {
    let options = connect_options(config.owner_url.expose_secret(), config, 1);
    Database::connect(options)
        .await
        .map_err(|source| DbError::Connect {
            role_kind: "owner",
            source,
        })
}

fn connect_options(url: &str, config: &DatabaseConfig, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(config.min_connections.min(max_connections))
        .connect_timeout(config.connect_timeout())
        .acquire_timeout(config.connect_timeout())
        .sqlx_logging(false);
    options
}

/// Connects, migrates as the owner, and checks that the service role is subject to row level
/// security; returns the service's pool. Safe to run from many replicas at once.
pub async fn prepare(
    config: &DatabaseConfig,
    migrations: &Migrations,
) -> Result<DatabaseConnection, DbError> {
    let database = connect(config).await?;
    let service_role = verify_service_role(&database).await?;
    let owner = connect_owner(config).await?;
    let migration_result = run_migrations(
        &owner,
        migrations,
        &service_role,
        config.migration_lock_timeout(),
    )
    .await;
    let _ = owner.close().await;
    let report = migration_result?;
    tracing::info!(
        service = migrations.service(),
        applied = report.applied.len(),
        current_version = report.current_version,
        "database migrated"
    );
    verify_owns_nothing(&database, &service_role).await?;
    Ok(database)
}

/// The service role's name; an error if it is a superuser or may bypass row level security.
pub async fn verify_service_role(database: &DatabaseConnection) -> Result<String, DbError> {
    let row = database
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user::text AS role, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
        ))
        .await?
        .ok_or_else(|| DbError::UnsafeServiceRole {
            role: "?".to_string(),
            problem: "is not in pg_roles".to_string(),
        })?;
    let role: String = row.try_get("", "role")?;
    let is_superuser: bool = row.try_get("", "rolsuper")?;
    let bypasses_rls: bool = row.try_get("", "rolbypassrls")?;
    if is_superuser {
        return Err(DbError::UnsafeServiceRole {
            role,
            problem: "is a superuser".to_string(),
        });
    }
    if bypasses_rls {
        return Err(DbError::UnsafeServiceRole {
            role,
            problem: "has BYPASSRLS".to_string(),
        });
    }
    Ok(role)
}

async fn verify_owns_nothing(database: &DatabaseConnection, role: &str) -> Result<(), DbError> {
    let row = database
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS owned FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) = $1",
            [role.into()],
        ))
        .await?;
    let owned: i64 = match row {
        Some(row) => row.try_get("", "owned")?,
        None => 0,
    };
    if owned > 0 {
        return Err(DbError::UnsafeServiceRole {
            role: role.to_string(),
            problem: format!(
                "owns {owned} tables (table owners can switch row level security off)"
            ),
        });
    }
    Ok(())
}
