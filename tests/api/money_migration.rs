//! Migration 000007 turns each undated `actual_investment_usd` into one
//! verified fund (dated the signing day, else the migration day; evidence
//! `other`; a note saying it was migrated), so a project's sum is unchanged.

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Migrated {
    #[diesel(sql_type = diesel::sql_types::Text)]
    project_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    received_on: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount_usd: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    evidence: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    note: String,
}

const PROJECTS: &str = "INSERT INTO projects (id, park_code, name, industry, attraction_mode, stage, planned_investment_usd,
    actual_investment_usd, high_tech, tags, search_text, created_at, updated_at, created_by, updated_by, version, signed_on)
  VALUES ('p-signed', 'yueyang', 'a', 'other', 'targeted', 'signed', 1000, 500, FALSE, '[]', 'a', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'x', 'x', 1, '2024-03-01'),
         ('p-lead', 'yueyang', 'b', 'other', 'targeted', 'lead', 1000, 999999999, FALSE, '[]', 'b', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'x', 'x', 1, NULL),
         ('p-none', 'yueyang', 'c', 'other', 'targeted', 'lead', 1000, NULL, FALSE, '[]', 'c', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'x', 'x', 1, NULL)";

const READ: &str = "SELECT project_id, CAST(received_on AS TEXT) AS received_on, amount_usd, status, evidence, note
  FROM funds ORDER BY project_id";

fn check(rows: Vec<Migrated>) {
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].project_id.as_str(), rows[0].received_on.as_str(), rows[0].amount_usd), ("p-lead", today.as_str(), 999_999_999));
    assert_eq!((rows[1].project_id.as_str(), rows[1].received_on.as_str(), rows[1].amount_usd), ("p-signed", "2024-03-01", 500));
    for row in &rows {
        assert_eq!((row.status.as_str(), row.evidence.as_str()), ("verified", "other"));
        assert!(row.note.contains("migrated"), "{}", row.note);
    }
}

// Each test runs the migrations before 000007, writes the old rows, then
// runs the rest.
#[test]
fn sqlite_turns_actual_investment_into_verified_funds() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = SqliteConnection::establish(&dir.path().join("m.db").display().to_string()).unwrap();
    let migrations = FileBasedMigrations::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap();
    while conn.applied_migrations().unwrap().iter().all(|v| v.to_string() != "20261128000006") {
        conn.run_next_migration(migrations.clone()).unwrap();
    }
    diesel::sql_query(PROJECTS).execute(&mut conn).unwrap();
    conn.run_pending_migrations(migrations).unwrap();
    check(diesel::sql_query(READ).load(&mut conn).unwrap());
}

#[test]
fn postgres_turns_actual_investment_into_verified_funds() {
    let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    let name = format!("ir_test_{}", uuid::Uuid::now_v7().simple());
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let result = std::panic::catch_unwind(|| {
        let mut conn = PgConnection::establish(&url).unwrap();
        let migrations = FileBasedMigrations::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap();
        while conn.applied_migrations().unwrap().iter().all(|v| v.to_string() != "20261128000006") {
            conn.run_next_migration(migrations.clone()).unwrap();
        }
        diesel::sql_query(PROJECTS).execute(&mut conn).unwrap();
        conn.run_pending_migrations(migrations).unwrap();
        check(diesel::sql_query(READ).load(&mut conn).unwrap());
    });
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
