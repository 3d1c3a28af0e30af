//! Migrations and row level security against a real PostgreSQL.

use include_dir::{Dir, include_dir};
use radiant_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use radiant_db::{DbError, MigrationError, Migrations, run_migrations, with_tenant};
use radiant_testkit::TestDatabase;
use uuid::Uuid;

static NOTES_MIGRATIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tests/migrations/notes");
static UNFORCED_MIGRATIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tests/migrations/unforced");

fn notes_migrations() -> Migrations {
    Migrations::from_dir("notes-test", &NOTES_MIGRATIONS).unwrap()
}

async fn insert_note(
    database: &DatabaseConnection,
    tenant_id: Uuid,
    row_tenant: Uuid,
    body: &str,
) -> Result<(), DbErr> {
    let body = body.to_string();
    with_tenant(database, tenant_id, move |transaction| {
        Box::pin(async move {
            transaction
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO notes (tenant_id, body) VALUES ($1, $2)",
                    [row_tenant.into(), body.into()],
                ))
                .await?;
            Ok(())
        })
    })
    .await
}

async fn note_bodies(database: &DatabaseConnection, tenant_id: Uuid) -> Vec<String> {
    with_tenant(database, tenant_id, |transaction| {
        Box::pin(async move {
            let rows = transaction
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT body FROM notes ORDER BY body",
                ))
                .await?;
            rows.iter()
                .map(|row| row.try_get::<String>("", "body"))
                .collect::<Result<Vec<_>, DbErr>>()
        })
    })
    .await
    .unwrap()
}

async fn count_without_tenant(database: &DatabaseConnection) -> i64 {
    database
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM notes",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap()
}

#[tokio::test]
async fn tenants_only_see_and_write_their_own_rows() {
    let test_database = TestDatabase::create().await;
    let database = radiant_db::prepare(&test_database.config, &notes_migrations())
        .await
        .unwrap();
    let tenant_a = Uuid::new_v4();
    let tenant_b = Uuid::new_v4();
    insert_note(&database, tenant_a, tenant_a, "a-1")
        .await
        .unwrap();
    insert_note(&database, tenant_a, tenant_a, "a-2")
        .await
        .unwrap();
    insert_note(&database, tenant_b, tenant_b, "b-1")
        .await
        .unwrap();

    assert_eq!(note_bodies(&database, tenant_a).await, vec!["a-1", "a-2"]);
    assert_eq!(note_bodies(&database, tenant_b).await, vec!["b-1"]);

    // tenant B cannot write a row into tenant A
    let error = insert_note(&database, tenant_b, tenant_a, "smuggled")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    // nor change A's rows: they are invisible to its UPDATE
    let updated = with_tenant(&database, tenant_b, |transaction| {
        Box::pin(async move {
            let result = transaction
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "UPDATE notes SET body = 'hijacked'",
                ))
                .await?;
            Ok::<_, DbErr>(result.rows_affected())
        })
    })
    .await
    .unwrap();
    assert_eq!(updated, 1, "only B's own row");
    assert_eq!(note_bodies(&database, tenant_a).await, vec!["a-1", "a-2"]);

    // no tenant set: zero rows, not all rows
    assert_eq!(count_without_tenant(&database).await, 0);

    // every row is really there (as the superuser sees it)
    let admin = test_database.admin_connection().await;
    assert_eq!(count_without_tenant(&admin).await, 3);
}

#[tokio::test]
async fn the_table_owner_is_not_exempt_from_row_level_security() {
    let test_database = TestDatabase::create().await;
    let database = radiant_db::prepare(&test_database.config, &notes_migrations())
        .await
        .unwrap();
    let tenant_a = Uuid::new_v4();
    let tenant_b = Uuid::new_v4();
    insert_note(&database, tenant_a, tenant_a, "secret of a")
        .await
        .unwrap();

    let owner = radiant_db::connect_owner(&test_database.config)
        .await
        .unwrap();
    let owner_row = owner
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tableowner::text AS owner, current_user::text AS me FROM pg_tables WHERE tablename = 'notes'",
        ))
        .await
        .unwrap()
        .unwrap();
    let table_owner: String = owner_row.try_get("", "owner").unwrap();
    let me: String = owner_row.try_get("", "me").unwrap();
    assert_eq!(table_owner, me, "this connection really is the table owner");

    assert_eq!(count_without_tenant(&owner).await, 0);
    assert!(note_bodies(&owner, tenant_b).await.is_empty());
    assert_eq!(note_bodies(&owner, tenant_a).await, vec!["secret of a"]);
}

#[tokio::test]
async fn concurrent_migration_runs_both_succeed_and_apply_once() {
    let test_database = TestDatabase::create().await;
    let migrations = notes_migrations();
    let (first, second) = tokio::join!(
        radiant_db::prepare(&test_database.config, &migrations),
        radiant_db::prepare(&test_database.config, &migrations),
    );
    first.unwrap();
    second.unwrap();

    let admin = test_database.admin_connection().await;
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version FROM radiant_schema_migrations ORDER BY version",
        ))
        .await
        .unwrap();
    let versions: Vec<i64> = rows
        .iter()
        .map(|row| row.try_get("", "version").unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2]);

    // a later start finds nothing to do
    let owner = radiant_db::connect_owner(&test_database.config)
        .await
        .unwrap();
    let report = run_migrations(
        &owner,
        &migrations,
        "radiant_test_app",
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(report.applied.is_empty());
    assert_eq!(report.current_version, 2);
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_stops_the_start() {
    let test_database = TestDatabase::create().await;
    radiant_db::prepare(&test_database.config, &notes_migrations())
        .await
        .unwrap();
    let edited = Migrations::new(
        "notes-test",
        notes_migrations()
            .iter()
            .map(|migration| {
                let sql = if migration.version == 2 {
                    format!("{}\n-- edited", migration.sql)
                } else {
                    migration.sql.clone()
                };
                radiant_db::Migration::new(
                    &format!("{:04}_{}.sql", migration.version, migration.name),
                    &sql,
                )
                .unwrap()
            })
            .collect(),
    )
    .unwrap();
    let error = radiant_db::prepare(&test_database.config, &edited)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            DbError::Migration(MigrationError::ChecksumMismatch { version: 2, .. })
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_behind() {
    let test_database = TestDatabase::create().await;
    let broken = Migrations::new(
        "broken-test",
        vec![
            radiant_db::Migration::new(
                "0001_half.sql",
                "CREATE TABLE half_done (id bigint); INSERT INTO no_such_table VALUES (1);",
            )
            .unwrap(),
        ],
    )
    .unwrap();
    let error = radiant_db::prepare(&test_database.config, &broken)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            DbError::Migration(MigrationError::Failed { version: 1, .. })
        ),
        "{error}"
    );
    let admin = test_database.admin_connection().await;
    let leftover = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT to_regclass('half_done') IS NULL AS absent",
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(leftover.try_get::<bool>("", "absent").unwrap());
}

#[tokio::test]
async fn a_tenant_table_without_forced_row_level_security_is_refused() {
    let test_database = TestDatabase::create().await;
    let migrations = Migrations::from_dir("unforced-test", &UNFORCED_MIGRATIONS).unwrap();
    let error = radiant_db::prepare(&test_database.config, &migrations)
        .await
        .unwrap_err();
    match error {
        DbError::Migration(MigrationError::UnprotectedTenantTables(tables)) => {
            assert_eq!(tables, vec!["leaky"])
        }
        other => panic!("expected an unprotected table error, got {other}"),
    }
}

#[tokio::test]
async fn a_service_role_that_bypasses_row_level_security_is_refused() {
    let test_database = TestDatabase::create().await;
    let mut config = test_database.config.clone();
    // the superuser as the service role
    config.url = test_database.admin_url().to_string().into();
    let error = radiant_db::prepare(&config, &notes_migrations())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DbError::UnsafeServiceRole { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("superuser"), "{error}");
}

#[tokio::test]
async fn the_service_role_cannot_hard_delete() {
    let test_database = TestDatabase::create().await;
    let database = radiant_db::prepare(&test_database.config, &notes_migrations())
        .await
        .unwrap();
    let tenant = Uuid::new_v4();
    insert_note(&database, tenant, tenant, "kept forever")
        .await
        .unwrap();
    let error = with_tenant(&database, tenant, |transaction| {
        Box::pin(async move {
            transaction
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "DELETE FROM notes",
                ))
                .await
        })
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    assert_eq!(note_bodies(&database, tenant).await, vec!["kept forever"]);
}
