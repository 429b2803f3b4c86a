//! Azure Database for PostgreSQL, as one plugin library: the `azpostgres`
//! cloud plugin (single and flexible servers, each with its server
//! parameters), upstream Cloudmarker's six PostgreSQL checks, and
//! `rdbmsenforcetlsevent`, which checks any cloud's `rdbms` records.

mod azpostgres;

pub use azpostgres::{AzPostgres, PostgresServer, POSTGRESQL_SERVER};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzPostgres,
);
