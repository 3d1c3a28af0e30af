//! Migrations as SQL files, `migrations/<service>/<version>_<name>.sql`, embedded in the binary
//! and applied at start by the owner role under a PostgreSQL advisory lock, so replicas that
//! start together wait for one another instead of racing. Each file runs in its own
//! transaction and is recorded with its SHA-256; a file changed after it was applied stops the
//! service. Afterwards the service role gets SELECT, INSERT and UPDATE (never DELETE: nothing
//! is hard-deleted) and every table with a `tenant_id` column must have forced row level
//! security.

use std::time::{Duration, Instant};

use include_dir::Dir;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use sha2::{Digest, Sha256};

/// Installed before every service's own migrations.
const KIT_BOOTSTRAP_SQL: &str = r#"
CREATE TABLE IF NOT EXISTS radiant_schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms bigint NOT NULL
);
-- the tenant of the current transaction, NULL when none is set: a policy comparing with it
-- matches no row
CREATE OR REPLACE FUNCTION radiant_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;
"#;

/// The role name travels as a setting so the grant is formatted by PostgreSQL (`%I`), never by
/// string interpolation here.
const GRANT_SERVICE_ROLE_SQL: &str = r#"
DO $$
DECLARE
    service_role text := current_setting('radiant.service_role');
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', service_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO %I', service_role);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', service_role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION radiant_current_tenant() TO %I', service_role);
    EXECUTE format('REVOKE ALL ON radiant_schema_migrations FROM %I', service_role);
END
$$;
"#;

const UNPROTECTED_TENANT_TABLES_SQL: &str = r#"
SELECT c.relname::text AS table_name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public'
  AND c.relkind IN ('r', 'p')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
ORDER BY 1
"#;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration file name {0:?} is not <version>_<name>.sql")]
    BadFileName(String),
    #[error("migration file {0:?} is not utf-8")]
    NotUtf8(String),
    #[error("two migrations have version {0}")]
    DuplicateVersion(i64),
    #[error("migration lock of {service} not acquired within {waited_ms} ms")]
    LockTimeout { service: String, waited_ms: u128 },
    #[error(
        "migration lock of {service} was lost (the connection was replaced); nothing more applied"
    )]
    LockLost { service: String },
    #[error(
        "migration {version} ({name}) was changed after it was applied: checksum {applied} in the database, {current} in this build"
    )]
    ChecksumMismatch {
        version: i64,
        name: String,
        applied: String,
        current: String,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed {
        version: i64,
        name: String,
        #[source]
        source: DbErr,
    },
    #[error("tables {0:?} have a tenant_id column but no forced row level security")]
    UnprotectedTenantTables(Vec<String>),
    #[error("migration bookkeeping failed: {0}")]
    Database(#[from] DbErr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

impl Migration {
    pub fn new(file_name: &str, sql: &str) -> Result<Self, MigrationError> {
        let bad_name = || MigrationError::BadFileName(file_name.to_string());
        let stem = file_name.strip_suffix(".sql").ok_or_else(bad_name)?;
        let (version, name) = stem.split_once('_').ok_or_else(bad_name)?;
        let version: i64 = version.parse().map_err(|_| bad_name())?;
        if version <= 0 || name.is_empty() {
            return Err(bad_name());
        }
        let checksum = Sha256::digest(sql.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(Self {
            version,
            name: name.to_string(),
            sql: sql.to_string(),
            checksum,
        })
    }
}

/// One service's migrations, ordered by version.
#[derive(Debug, Clone)]
pub struct Migrations {
    service: String,
    migrations: Vec<Migration>,
}

impl Migrations {
    pub fn new(service: &str, mut migrations: Vec<Migration>) -> Result<Self, MigrationError> {
        migrations.sort_by_key(|migration| migration.version);
        if let Some(pair) = migrations
            .windows(2)
            .find(|pair| pair[0].version == pair[1].version)
        {
            return Err(MigrationError::DuplicateVersion(pair[0].version));
        }
        Ok(Self {
            service: service.to_string(),
            migrations,
        })
    }

    /// Every `.sql` file of an embedded folder (`include_dir!("$CARGO_MANIFEST_DIR/../../migrations/<service>")`).
    pub fn from_dir(service: &str, dir: &Dir<'_>) -> Result<Self, MigrationError> {
        let mut migrations = Vec::new();
        for file in dir.files() {
            let file_name = file
                .path()
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            if !file_name.ends_with(".sql") {
                continue;
            }
            let sql = file
                .contents_utf8()
                .ok_or_else(|| MigrationError::NotUtf8(file_name.to_string()))?;
            migrations.push(Migration::new(file_name, sql)?);
        }
        Self::new(service, migrations)
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.iter()
    }

    /// The advisory lock key: the first 8 bytes of SHA-256("radiant-migrations:<service>").
    fn lock_key(&self) -> i64 {
        let digest = Sha256::digest(format!("radiant-migrations:{}", self.service).as_bytes());
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions this run applied (empty when another replica had already done it).
    pub applied: Vec<i64>,
    pub current_version: i64,
}

/// Applies pending migrations. `owner` must be a single-connection pool of the owner role
/// ([`crate::connect_owner`]): the advisory lock belongs to that session.
pub async fn run_migrations(
    owner: &DatabaseConnection,
    migrations: &Migrations,
    service_role: &str,
    lock_timeout: Duration,
) -> Result<MigrationReport, MigrationError> {
    let lock_key = migrations.lock_key();
    let started = Instant::now();
    loop {
        if query_flag(owner, "SELECT pg_try_advisory_lock($1) AS flag", lock_key).await? {
            break;
        }
        if started.elapsed() >= lock_timeout {
            return Err(MigrationError::LockTimeout {
                service: migrations.service.clone(),
                waited_ms: started.elapsed().as_millis(),
            });
        }
        tracing::info!(service = %migrations.service, "waiting for another replica's migration run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let result = apply_pending(owner, migrations, service_role, lock_key).await;
    let unlock = owner
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [lock_key.into()],
        ))
        .await;
    if let Err(error) = unlock {
        tracing::warn!(%error, "migration lock release failed; it goes with the session");
    }
    result
}

/// True while this session holds the advisory lock (a bigint key is stored as classid = high
/// 32 bits, objid = low 32 bits, objsubid = 1).
const LOCK_HELD_SQL: &str = r#"
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
      AND objsubid = 1
      AND classid::bigint = (($1::bigint >> 32) & 4294967295)
      AND objid::bigint = ($1::bigint & 4294967295)
) AS flag
"#;

/// Runs a query about the advisory lock `lock_key` whose one column is the boolean `flag`.
async fn query_flag(owner: &DatabaseConnection, sql: &str, lock_key: i64) -> Result<bool, DbErr> {
    let row = owner
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [lock_key.into()],
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "flag"),
        None => Ok(false),
    }
}

async fn apply_pending(
    owner: &DatabaseConnection,
    migrations: &Migrations,
    service_role: &str,
    lock_key: i64,
) -> Result<MigrationReport, MigrationError> {
    owner.execute_unprepared(KIT_BOOTSTRAP_SQL).await?;

    let applied_rows = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version, name, checksum FROM radiant_schema_migrations ORDER BY version",
        ))
        .await?;
    let mut applied_versions = Vec::with_capacity(applied_rows.len());
    for row in applied_rows {
        let version: i64 = row.try_get("", "version")?;
        let checksum: String = row.try_get("", "checksum")?;
        match migrations
            .iter()
            .find(|migration| migration.version == version)
        {
            Some(migration) if migration.checksum != checksum => {
                return Err(MigrationError::ChecksumMismatch {
                    version,
                    name: migration.name.clone(),
                    applied: checksum,
                    current: migration.checksum.clone(),
                });
            }
            Some(_) => {}
            // a newer replica applied it during a rolling deploy: this build does not know it
            None => tracing::warn!(version, "database has a migration this build does not know"),
        }
        applied_versions.push(version);
    }

    let mut newly_applied = Vec::new();
    for migration in migrations.iter() {
        if applied_versions.contains(&migration.version) {
            continue;
        }
        // the lock lives in the pooled connection's session: make sure it still is ours
        if !query_flag(owner, LOCK_HELD_SQL, lock_key).await? {
            return Err(MigrationError::LockLost {
                service: migrations.service.clone(),
            });
        }
        let started = Instant::now();
        let failed = |source| MigrationError::Failed {
            version: migration.version,
            name: migration.name.clone(),
            source,
        };
        let transaction = owner.begin().await?;
        transaction
            .execute_unprepared(&migration.sql)
            .await
            .map_err(failed)?;
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO radiant_schema_migrations (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)",
                [
                    migration.version.into(),
                    migration.name.clone().into(),
                    migration.checksum.clone().into(),
                    (started.elapsed().as_millis() as i64).into(),
                ],
            ))
            .await?;
        transaction.commit().await?;
        tracing::info!(
            service = %migrations.service,
            version = migration.version,
            name = %migration.name,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "migration applied"
        );
        newly_applied.push(migration.version);
    }

    let transaction = owner.begin().await?;
    transaction
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('radiant.service_role', $1, true)",
            [service_role.into()],
        ))
        .await?;
    transaction
        .execute_unprepared(GRANT_SERVICE_ROLE_SQL)
        .await?;
    transaction.commit().await?;

    let unprotected = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            UNPROTECTED_TENANT_TABLES_SQL,
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get::<String>("", "table_name"))
        .collect::<Result<Vec<_>, _>>()?;
    if !unprotected.is_empty() {
        return Err(MigrationError::UnprotectedTenantTables(unprotected));
    }

    let current_version = applied_versions
        .iter()
        .chain(newly_applied.iter())
        .copied()
        .max()
        .unwrap_or(0);
    Ok(MigrationReport {
        applied: newly_applied,
        current_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_version_and_name() {
        let migration = Migration::new("0012_create_chats.sql", "select 1").unwrap();
        assert_eq!(migration.version, 12);
        assert_eq!(migration.name, "create_chats");
        assert_eq!(migration.checksum.len(), 64);
        for bad in [
            "create.sql",
            "0001_create.txt",
            "x_create.sql",
            "0000_zero.sql",
            "0003_.sql",
        ] {
            assert!(Migration::new(bad, "").is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let migrations = vec![
            Migration::new("0001_a.sql", "").unwrap(),
            Migration::new("1_b.sql", "").unwrap(),
        ];
        assert!(matches!(
            Migrations::new("svc", migrations),
            Err(MigrationError::DuplicateVersion(1))
        ));
    }
}
