//! The test databases `testing::fresh_database` leaves behind are dropped
//! once old: only those named by the prefix and 16 hex digits, and not
//! while in use.

use std::hash::{BuildHasher, RandomState};
use std::str::FromStr;

use confab_store_postgres::testing::{DEFAULT_TEST_URL, drop_old_databases};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

const PREFIX: &str = "confab_sweep_";

fn server() -> PgConnectOptions {
    let url = std::env::var("CONFAB_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_URL.to_string());
    PgConnectOptions::from_str(&url).expect("a PostgreSQL URL")
}

async fn create(admin: &mut PgConnection, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut *admin)
        .await
        .expect("a database");
}

async fn exists(admin: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut *admin)
        .await
        .expect("a lookup")
}

#[tokio::test]
async fn old_unused_test_databases_are_dropped_the_rest_kept() {
    let mut admin = server().connect().await.expect("the test server");
    let tag = RandomState::new().hash_one(std::process::id());
    let idle = format!("{PREFIX}{tag:016x}");
    let used = format!("{PREFIX}{:016x}", tag ^ 1);
    let not_ours = format!("{PREFIX}{:016x}_kept", tag ^ 2);
    let made = [&idle, &used, &not_ours];
    for name in made {
        create(&mut admin, name).await;
    }
    let user = server()
        .database(&used)
        .connect()
        .await
        .expect("a connection");

    // All three were made just now: none is older than an hour.
    let dropped = drop_old_databases(&mut admin, PREFIX, "1 hour").await;
    assert!(
        !dropped.iter().any(|name| made.contains(&name)),
        "younger than the age given: {dropped:?}"
    );
    // At any age, the one in use and the one not named as ours stay.
    let mut dropped = drop_old_databases(&mut admin, PREFIX, "0 seconds").await;
    dropped.retain(|name| made.contains(&name));
    assert_eq!(dropped, vec![idle.clone()]);
    assert!(!exists(&mut admin, &idle).await);
    assert!(exists(&mut admin, &used).await, "in use");
    assert!(
        exists(&mut admin, &not_ours).await,
        "not a test database's name"
    );

    user.close().await.expect("closed");
    for name in [&used, &not_ours] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("dropped");
    }
}
