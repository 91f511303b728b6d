//! The shared conformance suite, on PostgreSQL (CONFAB_TEST_POSTGRES_URL).

confab_store::conformance_tests!(confab_store_postgres::testing::fresh_store);
