//! EFS: every file system of each region and whether it is encrypted (REST
//! calls through the client of `query.rs`).

use crate::query::{encode, Client, Request, Service};
use crate::scope::Scope;

/// `ext.record_type` of a file system.
pub const EFS_FILE_SYSTEM: &str = "efs_file_system";

/// Amazon EFS.
const EFS: Service = Service {
    id: "EFS",
    signing_name: "elasticfilesystem",
    prefix: "elasticfilesystem",
};

/// Every file system of the region (`DescribeFileSystems`, paged by
/// `Marker`): `efs_file_system` records (`com.record_type: file_share`)
/// with `file_system_id` and `encrypted`; `raw` is the file system as the
/// API answers it.
pub async fn file_systems(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::of(EFS, &scope.account.in_region(scope.region));
    let mut marker: Option<String> = None;
    let mut count = 0;
    loop {
        let path = match &marker {
            Some(marker) => format!("/2015-02-01/file-systems?Marker={}", encode(marker)),
            None => "/2015-02-01/file-systems".to_string(),
        };
        let page = scope
            .call(client.json("DescribeFileSystems", Request::Get(&path)))
            .await
            .map_err(|e| e.to_string())?;
        for fs in page["FileSystems"].as_array().into_iter().flatten() {
            if scope.full(count) {
                return Ok(count);
            }
            let id = fs["FileSystemId"].as_str().unwrap_or_default();
            let arn = fs["FileSystemArn"].as_str().map_or_else(
                || scope.arn("elasticfilesystem", &format!("file-system/{id}")),
                String::from,
            );
            let record = scope
                .record(EFS_FILE_SYSTEM)
                .com_record_type(Some("file_share"))
                .reference(arn)
                .ext("file_system_id", id)
                .ext("encrypted", fs["Encrypted"].as_bool());
            count += 1;
            if !scope.emit(fs, &record) {
                return Ok(count);
            }
        }
        let next = page["NextMarker"].as_str().filter(|m| !m.is_empty());
        match next {
            Some(next) if marker.as_deref() != Some(next) => marker = Some(next.to_string()),
            _ => return Ok(count),
        }
    }
}
