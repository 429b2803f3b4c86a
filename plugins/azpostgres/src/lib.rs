//! Azure Database for PostgreSQL, as one plugin library: the `azpostgres`
//! cloud plugin (single and flexible servers, each with its server
//! parameters), upstream Cloudmarker's six PostgreSQL checks, and
//! `rdbmsenforcetlsevent`, which checks any cloud's `rdbms` records.

mod azpostgres;
mod checks;
mod rdbms;

pub use azpostgres::{AzPostgres, PostgresServer, POSTGRESQL_SERVER};
pub use checks::{
    ConnectionThrottling, LogCheckpoints, LogConnections, LogDisconnections, LogDuration,
    LogRetentionDays,
};
pub use rdbms::RdbmsEnforceTls;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzPostgres,
    event: LogCheckpoints,
    event: LogConnections,
    event: LogDisconnections,
    event: LogDuration,
    event: ConnectionThrottling,
    event: LogRetentionDays,
    event: RdbmsEnforceTls,
);
