use radiant_db::DatabaseConfig;
use radiant_db::sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::stack::TestStack;

const OWNER_ROLE: &str = "radiant_test_owner";
const SERVICE_ROLE: &str = "radiant_test_app";

/// Creates the two test roles once; the transaction-scoped advisory lock keeps parallel test
/// processes from racing on CREATE ROLE.
const ENSURE_ROLES_SQL: &str = r#"
BEGIN;
SELECT pg_advisory_xact_lock(727274);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'radiant_test_owner') THEN
        CREATE ROLE radiant_test_owner LOGIN PASSWORD 'radiant_test_owner' NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'radiant_test_app') THEN
        CREATE ROLE radiant_test_app LOGIN PASSWORD 'radiant_test_app' NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
COMMIT;
"#;

/// A fresh database owned by the test owner role, which the test service role may connect to,
/// prepared as `deploy/postgres/ensure-service-database.sh` prepares a service's database
/// (full-text matching marked LEAKPROOF, so indexes serve it under row level security).
/// Dropping it drops the database.
pub struct TestDatabase {
    pub name: String,
    pub config: DatabaseConfig,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let stack = TestStack::get().await;
        let admin = Database::connect(stack.database_admin_url.as_str())
            .await
            .expect("admin connection to postgres");
        admin
            .execute_unprepared(ENSURE_ROLES_SQL)
            .await
            .expect("test roles");
        // the name is made here from hex digits only, so it needs no quoting
        let name = format!("radiant_test_{}", crate::unique_suffix());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}"))
            .await
            .expect("create test database");
        let _ = admin.close().await;

        let admin_url = replace_database(&stack.database_admin_url, &name);
        let in_database = Database::connect(admin_url.as_str())
            .await
            .expect("admin connection to the test database");
        in_database
            .execute_unprepared(&format!(
                "REVOKE ALL ON DATABASE {name} FROM PUBLIC; \
                 GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {SERVICE_ROLE}; \
                 GRANT CONNECT ON DATABASE {name} TO {OWNER_ROLE}; \
                 GRANT USAGE ON SCHEMA public TO {SERVICE_ROLE}; \
                 ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;"
            ))
            .await
            .expect("test database grants");
        let _ = in_database.close().await;

        let service_url = with_credentials(&admin_url, SERVICE_ROLE);
        let owner_url = with_credentials(&admin_url, OWNER_ROLE);
        let mut config = DatabaseConfig::new(&service_url, &owner_url);
        config.max_connections = 5;
        Self {
            name,
            config,
            admin_url,
        }
    }

    /// A superuser connection into this database (for assertions that must see every row).
    pub async fn admin_connection(&self) -> DatabaseConnection {
        Database::connect(self.admin_url.as_str())
            .await
            .expect("admin connection to the test database")
    }

    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin_url = replace_database(&self.admin_url, "postgres");
        crate::run_detached(async move {
            if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        });
    }
}

/// `postgres://user:pass@host:port/db?x` with another database name.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|index| index + 3).unwrap_or(0);
    let path_start = base[authority_end..]
        .find('/')
        .map(|index| authority_end + index)
        .unwrap_or(base.len());
    let mut replaced = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        replaced.push('?');
        replaced.push_str(query);
    }
    replaced
}

/// The same URL logging in as `role` with the password the test roles were created with.
fn with_credentials(url: &str, role: &str) -> String {
    let scheme_end = url.find("://").map(|index| index + 3).unwrap_or(0);
    let rest = &url[scheme_end..];
    let host_and_rest = rest.rsplit_once('@').map(|(_, host)| host).unwrap_or(rest);
    format!("{}{role}:{role}@{host_and_rest}", &url[..scheme_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten() {
        assert_eq!(
            replace_database(
                "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable",
                "x"
            ),
            "postgres://postgres:pw@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_credentials(
                "postgres://postgres:pw@127.0.0.1:5432/x",
                "radiant_test_app"
            ),
            "postgres://radiant_test_app:radiant_test_app@127.0.0.1:5432/x"
        );
    }
}
