//! Azure SQL Database, as one plugin library: the `azsql` cloud plugin,
//! which reads every logical server (auditing, firewall rules normalised to
//! `firewall_rule` records) and its databases (transparent data
//! encryption), upstream Cloudmarker's TDE check and an auditing check.

mod azsql;

pub use azsql::{AzSql, SqlDatabase, SqlServer, SQL_DB, SQL_SERVER};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzSql,
);
