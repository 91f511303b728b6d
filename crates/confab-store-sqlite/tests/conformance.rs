//! The shared conformance suite, on SQLite.

confab_store::conformance_tests!(confab_store_sqlite::testing::fresh_store);
