//! BigQuery datasets (`bigquery_dataset`: who may read them, their default
//! key) and tables (`bigquery_table`: their key).

use crate::{collected, Project};
use cloudrest::Collected;
use serde_json::Value;

/// One `bigquery_dataset` record per dataset (datasets.get: the list has
/// no `access` nor encryption) and one `bigquery_table` record per table
/// (tables.get, `ext.dataset_id`). Cost: one datasets.get per dataset, one
/// tables.list per dataset and **one tables.get per table**; at most
/// `max_tables` tables are read a project, past that `bigquery_table` is
/// reported failed (cut), so its checks are not evaluated.
pub fn read_bigquery(project: &Project<'_>, max_tables: usize) -> Collected {
    let reader = &project.reader;
    let base = project.url(reader.bigquery_url, "/datasets");
    let url = format!("{base}?all=true");
    let listed = match project.list_of("listing BigQuery datasets", &url, "datasets") {
        Ok(listed) => listed,
        Err(why) => {
            let mut failed = collected("bigquery_dataset", Err(why.clone()));
            failed.fail("bigquery_table", why);
            return failed;
        }
    };
    let mut collected = Collected::default();
    collected.count("bigquery_dataset", 0);
    collected.count("bigquery_table", 0);
    let mut tables_read = 0;
    for listed in &listed {
        let Some(dataset_id) = listed
            .pointer("/datasetReference/datasetId")
            .and_then(Value::as_str)
        else {
            continue;
        };
        match reader.get(
            &format!("dataset {dataset_id}: reading it"),
            &format!("{base}/{dataset_id}"),
        ) {
            Ok(dataset) => {
                collected.count("bigquery_dataset", 1);
                let record = project
                    .record("bigquery_dataset")
                    .reference(dataset.get("id").cloned());
                if !project.emit(record, &dataset) {
                    return collected;
                }
            }
            Err(why) => collected.fail("bigquery_dataset", why),
        }
        let tables = match reader.list_of(
            &format!("dataset {dataset_id}: listing its tables"),
            &format!("{base}/{dataset_id}/tables"),
            "tables",
        ) {
            Ok(tables) => tables,
            Err(why) => {
                collected.fail("bigquery_table", why);
                continue;
            }
        };
        for table_id in tables
            .iter()
            .filter_map(|t| t.pointer("/tableReference/tableId").and_then(Value::as_str))
        {
            if tables_read == max_tables {
                collected.fail(
                    "bigquery_table",
                    format!("gcpcloud: project {}: more than {max_tables} BigQuery tables; read the first {max_tables} (max_bigquery_tables)", project.id),
                );
                return collected;
            }
            tables_read += 1;
            match reader.get(
                &format!("table {dataset_id}.{table_id}: reading it"),
                &format!("{base}/{dataset_id}/tables/{table_id}"),
            ) {
                Ok(table) => {
                    collected.count("bigquery_table", 1);
                    let record = project
                        .record("bigquery_table")
                        .reference(table.get("id").cloned())
                        .ext("dataset_id", dataset_id);
                    if !project.emit(record, &table) {
                        return collected;
                    }
                }
                Err(why) => collected.fail("bigquery_table", why),
            }
        }
    }
    collected
}
