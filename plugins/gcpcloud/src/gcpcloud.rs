//! A cloud plugin that reads the firewalls and instances (of one zone, or
//! of all zones) of every Google Cloud project a service account can see.

use crate::firewall::firewall_rules;
use cloudmarker_plugin_api::sdk;
use cloudmarker_plugin_api::sdk::stream::{StreamCloud, StreamReader};
use cloudmarker_plugin_api::PluginError;
use cloudrest::gcp::{self, SignIn};
use cloudrest::{run_bounded, Bearer, Collected, Emitter, Http, Limits};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;

/// Read-only access to every API that offers it.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";

/// The scope of the APIs that accept no read-only scope (IAM): what the
/// token may do is still only what the roles of the account allow.
const FULL_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Parameters of [`GcpCloud`].
#[derive(Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct GcpParams {
    /// How to sign in: `key_file`, `application_default` or
    /// `external_account`; when not given, `key_file` if `key_file_path` is
    /// given, else `application_default`.
    pub credentials: Option<gcp::Kind>,
    /// The service-account key file (JSON), for `key_file`.
    pub key_file_path: String,
    /// The workload identity federation configuration file (JSON, type
    /// `external_account`), for `external_account`.
    pub credentials_file: String,
    /// A service account to act as (its email), through the IAM Credentials
    /// API; the credentials need the Token Creator role on it.
    pub impersonate_service_account: Option<String>,
    /// The IAM Credentials API base URL (impersonation with a key file or
    /// an external account).
    pub iam_credentials_url: String,
    /// The project to read when the project list cannot be read or is
    /// empty; default: the key file's, else `GOOGLE_CLOUD_PROJECT`.
    pub project: Option<String>,
    /// The zone whose instances to read; empty: all zones.
    pub zone: Option<String>,
    /// The Compute Engine API base URL.
    pub compute_url: String,
    /// The Cloud Resource Manager API base URL (projects are listed there).
    pub resource_manager_url: String,
    /// The Cloud Storage JSON API base URL (buckets and their IAM policies).
    pub storage_url: String,
    /// The Cloud SQL Admin API base URL (database instances).
    pub sqladmin_url: String,
    /// The Cloud DNS API base URL (DNS policies of the networks).
    pub dns_url: String,
    /// The IAM API base URL (service accounts and their keys).
    pub iam_url: String,
    /// The API Keys API base URL.
    pub apikeys_url: String,
    /// The Service Usage API base URL (enabled services).
    pub serviceusage_url: String,
    /// The Cloud Logging API base URL (sinks, log-based metrics).
    pub logging_url: String,
    /// The Cloud Monitoring API base URL (alert policies).
    pub monitoring_url: String,
    /// The Cloud KMS API base URL (key rings, crypto keys).
    pub cloudkms_url: String,
    /// The BigQuery API base URL (datasets, tables).
    pub bigquery_url: String,
    /// The Dataproc API base URL (clusters).
    pub dataproc_url: String,
    /// The Essential Contacts API base URL.
    pub essentialcontacts_url: String,
    /// BigQuery tables read at most a project (one tables.get each); past
    /// it, `bigquery_table` is reported cut.
    pub max_bigquery_tables: usize,
    /// Requests in flight at most.
    pub max_concurrency: usize,
    /// Upstream Cloudmarker's name for `max_concurrency`; wins when given.
    pub threads: Option<usize>,
    /// Upstream's worker processes: accepted, without effect here.
    pub processes: Option<usize>,
    /// Reads at most this many projects (upstream's trial limit; 0: all).
    #[serde(rename = "_max_projects")]
    pub max_projects: usize,
    /// Seconds per request.
    pub timeout: f64,
    /// Retries of a throttled (429) or failed (5xx) request.
    pub max_retries: u32,
    /// Pages one listing may have; a longer one is cut and reported.
    pub max_pages: usize,
    /// Bytes one API answer may have; a larger one is refused and reported.
    pub max_response_bytes: u64,
}

impl Default for GcpParams {
    fn default() -> Self {
        Self {
            credentials: None,
            key_file_path: String::new(),
            credentials_file: String::new(),
            impersonate_service_account: None,
            iam_credentials_url: "https://iamcredentials.googleapis.com".into(),
            project: None,
            zone: None,
            compute_url: "https://compute.googleapis.com/compute/v1".into(),
            resource_manager_url: "https://cloudresourcemanager.googleapis.com/v1".into(),
            storage_url: "https://storage.googleapis.com/storage/v1".into(),
            sqladmin_url: "https://sqladmin.googleapis.com/v1".into(),
            dns_url: "https://dns.googleapis.com/dns/v1".into(),
            iam_url: "https://iam.googleapis.com/v1".into(),
            apikeys_url: "https://apikeys.googleapis.com/v2".into(),
            serviceusage_url: "https://serviceusage.googleapis.com/v1".into(),
            logging_url: "https://logging.googleapis.com/v2".into(),
            monitoring_url: "https://monitoring.googleapis.com/v3".into(),
            cloudkms_url: "https://cloudkms.googleapis.com/v1".into(),
            bigquery_url: "https://bigquery.googleapis.com/bigquery/v2".into(),
            dataproc_url: "https://dataproc.googleapis.com/v1".into(),
            essentialcontacts_url: "https://essentialcontacts.googleapis.com/v1".into(),
            max_bigquery_tables: 1000,
            max_concurrency: 4,
            threads: None,
            processes: None,
            max_projects: 0,
            timeout: 30.0,
            max_retries: 5,
            max_pages: cloudrest::DEFAULT_MAX_PAGES,
            max_response_bytes: cloudrest::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// What `gcpcloud` reads with: its sign-in, HTTP client and params.
pub struct Session {
    http: Http,
    token: Bearer,
    /// Tokens of [`FULL_SCOPE`], for the APIs without a read-only scope.
    full_token: Bearer,
    /// How the plugin signs in.
    sign_in: SignIn,
    /// The project read when the project list cannot be (`project`, the
    /// key file's, or `GOOGLE_CLOUD_PROJECT`).
    project: Option<String>,
    params: GcpParams,
}

impl Session {
    /// What the readers of other APIs need.
    fn reader(&self) -> crate::Reader<'_> {
        crate::Reader {
            http: &self.http,
            token: &self.token,
            full_token: &self.full_token,
            storage_url: self.params.storage_url.trim_end_matches('/'),
            sqladmin_url: self.params.sqladmin_url.trim_end_matches('/'),
            compute_url: self.params.compute_url.trim_end_matches('/'),
            resource_manager_url: self.params.resource_manager_url.trim_end_matches('/'),
            dns_url: self.params.dns_url.trim_end_matches('/'),
            iam_url: self.params.iam_url.trim_end_matches('/'),
            apikeys_url: self.params.apikeys_url.trim_end_matches('/'),
            serviceusage_url: self.params.serviceusage_url.trim_end_matches('/'),
            logging_url: self.params.logging_url.trim_end_matches('/'),
            monitoring_url: self.params.monitoring_url.trim_end_matches('/'),
            cloudkms_url: self.params.cloudkms_url.trim_end_matches('/'),
            bigquery_url: self.params.bigquery_url.trim_end_matches('/'),
            dataproc_url: self.params.dataproc_url.trim_end_matches('/'),
            essentialcontacts_url: self.params.essentialcontacts_url.trim_end_matches('/'),
        }
    }
}

/// Reads a GCP project; see the crate README.
pub type GcpCloud = StreamCloud<Session>;

impl StreamReader for Session {
    type Params = GcpParams;

    const NAME: &'static str = "gcpcloud";
    const CLASS: Option<&'static str> = Some("GCPCloud");
    const SHARDS: bool = true;
    const DESCRIPTION: &'static str =
        "Reads every Google Cloud project the credentials can see: instances, firewalls, buckets, Cloud SQL, IAM, KMS, logging, DNS, networks, BigQuery and more.";

    /// Signs in and reads one firewall rule of the project (or, without a
    /// known project, one page of the project list).
    fn health_check(&self) -> sdk::Result<String> {
        let session = self;
        let unavailable = |e: String| PluginError::unavailable(format!("gcpcloud: {e}"));
        let token = session.token.get().map_err(unavailable)?;
        let signed_in = format!(
            "signed in with {} as {}",
            session.sign_in.kind.name(),
            session.sign_in.identity
        );
        let Some(project) = &session.project else {
            let projects = list_projects(session).map_err(unavailable)?;
            return Ok(format!(
                "{signed_in} and listed {} project(s)",
                projects.len()
            ));
        };
        let base = session.params.compute_url.trim_end_matches('/');
        let url = format!("{base}/projects/{project}/global/firewalls?maxResults=1");
        session
            .http
            .get_json("reading the project's firewalls", &url, &token)
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(format!(
            "{signed_in} and read the firewalls of project {project} at {base}"
        ))
    }

    fn open(mut params: GcpParams) -> sdk::Result<Self> {
        params.max_concurrency =
            cloudrest::upstream_threads(params.max_concurrency, params.threads, params.processes);
        let config = |e: String| PluginError::config(format!("gcpcloud: {e}"));
        let settings = |scope| gcp::Settings {
            kind: params.credentials,
            key_file_path: &params.key_file_path,
            credentials_file: &params.credentials_file,
            impersonate_service_account: params.impersonate_service_account.as_deref(),
            iam_credentials_url: &params.iam_credentials_url,
            scope,
        };
        let sign_in = SignIn::new(&settings(SCOPE)).map_err(config)?;
        let full_token = SignIn::new(&settings(FULL_SCOPE)).map_err(config)?.bearer();
        let http = Http::new(
            params.timeout,
            params.max_retries,
            Duration::from_millis(500),
        )
        .map_err(config)?
        .with_limits(Limits {
            max_pages: params.max_pages,
            max_response_bytes: params.max_response_bytes,
        });
        let project = params
            .project
            .clone()
            .or_else(|| sign_in.project.clone())
            .or_else(|| std::env::var("GOOGLE_CLOUD_PROJECT").ok())
            .filter(|p| !p.is_empty());
        Ok(Self {
            http,
            token: sign_in.bearer(),
            full_token,
            sign_in,
            project,
            params,
        })
    }

    fn collect(&self, emit: Emitter) {
        collect(self, &emit)
    }
}

/// The readers of a project, run concurrently (at most `max_concurrency`).
#[derive(Clone, Copy)]
enum Kind {
    Firewalls,
    Instances,
    Buckets,
    SqlInstances,
    IamPolicy,
    ComputeProject,
    Networks,
    Subnetworks,
    BackendServices,
    ServiceAccounts,
    ApiKeys,
    EnabledServices,
    LogSinks,
    LogMetrics,
    DnsZones,
    CryptoKeys,
    BigQuery,
    DataprocClusters,
    EssentialContacts,
}

impl Kind {
    const ALL: [Kind; 19] = [
        Kind::Firewalls,
        Kind::Instances,
        Kind::Buckets,
        Kind::SqlInstances,
        Kind::IamPolicy,
        Kind::ComputeProject,
        Kind::Networks,
        Kind::Subnetworks,
        Kind::BackendServices,
        Kind::ServiceAccounts,
        Kind::ApiKeys,
        Kind::EnabledServices,
        Kind::LogSinks,
        Kind::LogMetrics,
        Kind::DnsZones,
        Kind::CryptoKeys,
        Kind::BigQuery,
        Kind::DataprocClusters,
        Kind::EssentialContacts,
    ];
}

/// Reads every active project the service account can see (the key
/// file's own when the list cannot be read), one after the other.
fn collect(session: &Session, emit: &Emitter) {
    let fallback = |why: String| match &session.project {
        Some(project) => {
            log::warn!("{why}; reading project {project} only.");
            vec![json!({"projectId": project})]
        }
        None => {
            log::warn!("{why}; no project to fall back to (set project).");
            Vec::new()
        }
    };
    let mut projects = match list_projects(session) {
        Ok(projects) if !projects.is_empty() => projects,
        Ok(_) => fallback(format!(
            "{} sees no active project",
            session.sign_in.identity
        )),
        Err(e) => {
            let message = format!("gcpcloud: cannot list projects ({e})");
            emit.problem(PluginError::partial(0, message.clone()));
            fallback(message)
        }
    };
    if session.params.max_projects > 0 {
        projects.truncate(session.params.max_projects);
    }
    let (projects, taken) = sdk::shard::partition(projects, "project(s)", |p| {
        p.get("projectId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    });
    let shard_fields = taken.map(|t| t.summary_fields()).unwrap_or_default();
    log::info!("Reading {} project(s).", projects.len());
    for project in &projects {
        if !collect_project(session, project, &shard_fields, emit) {
            return;
        }
    }
}

/// The active projects, from Cloud Resource Manager `projects.list`.
fn list_projects(session: &Session) -> Result<Vec<Value>, String> {
    let base = session.params.resource_manager_url.trim_end_matches('/');
    let url = format!("{base}/projects?filter=lifecycleState%3AACTIVE");
    let mut projects = Vec::new();
    gcp::list(
        &session.http,
        "listing projects",
        &url,
        &session.token,
        |page| {
            projects.extend(
                page.get("projects")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(projects)
}

/// Reads one project: its `project` record, firewalls and instances, and
/// its summary (with `shard_fields` in a sharded run); false once the host
/// stops reading.
fn collect_project(
    session: &Session,
    project_json: &Value,
    shard_fields: &Map<String, Value>,
    emit: &Emitter,
) -> bool {
    let project = project_json
        .get("projectId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut project_ext = Map::new();
    project_ext.insert("project_id".into(), project.into());
    project_ext.insert(
        "project_name".into(),
        project_json.get("name").cloned().unwrap_or(Value::Null),
    );
    if !session.params.key_file_path.is_empty() {
        project_ext.insert(
            "key_file_path".into(),
            session.params.key_file_path.as_str().into(),
        );
    }
    project_ext.insert(
        "client_email".into(),
        session.sign_in.identity.as_str().into(),
    );
    let record = gcp::record(&project_ext, "project").reference(project);
    if !emit.record(record.to_json(project_json)) {
        return false;
    }
    let base = session.params.compute_url.trim_end_matches('/');
    let collected: Mutex<Collected> = Mutex::default();
    // The organization a project's essential contacts also come from.
    let organization = project_json
        .get("parent")
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("organization"))
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str);
    run_bounded(Kind::ALL.to_vec(), session.params.max_concurrency, |kind| {
        let project = crate::Project {
            reader: session.reader(),
            id: project,
            ext: &project_ext,
            emit,
        };
        let read = match kind {
            Kind::Firewalls => crate::collected(
                "firewall",
                read_firewalls(
                    session,
                    &format!("{base}/projects/{}/global/firewalls", project.id),
                    &project_ext,
                    emit,
                ),
            ),
            Kind::Instances => crate::collected(
                "compute",
                read_instances(session, project.id, base, &project_ext, emit),
            ),
            Kind::Buckets => crate::collected("bucket", crate::storage::read_buckets(&project)),
            Kind::SqlInstances => crate::collected(
                "sql_instance",
                crate::cloudsql::read_sql_instances(&project),
            ),
            Kind::IamPolicy => crate::iam::read_iam_policy(&project),
            Kind::ComputeProject => crate::compute::read_compute_project(&project),
            Kind::Networks => crate::compute::read_networks(&project),
            Kind::Subnetworks => crate::compute::read_subnetworks(&project),
            Kind::BackendServices => crate::compute::read_backend_services(&project),
            Kind::ServiceAccounts => crate::iam::read_service_accounts(&project),
            Kind::ApiKeys => crate::iam::read_api_keys(&project),
            Kind::EnabledServices => crate::services::read_enabled_services(&project),
            Kind::LogSinks => crate::logging::read_log_sinks(&project),
            Kind::LogMetrics => crate::logging::read_log_metrics(&project),
            Kind::DnsZones => crate::dns::read_managed_zones(&project),
            Kind::CryptoKeys => crate::kms::read_crypto_keys(&project),
            Kind::BigQuery => {
                crate::bigquery::read_bigquery(&project, session.params.max_bigquery_tables)
            }
            Kind::DataprocClusters => crate::dataproc::read_clusters(&project),
            Kind::EssentialContacts => crate::contacts::read_contacts(&project, organization),
        };
        for why in read.failures.values() {
            emit.problem(PluginError::partial(0, why.clone()));
        }
        collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .merge(read);
    });
    let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
    let record = gcp::record(&project_ext, "collection_summary")
        .reference(project)
        .ext_extend(collected.summarise(&format!("Project {project}"), &[]))
        .ext_extend(shard_fields.clone());
    emit.record(record.to_json(&json!({"project_id": project})))
}

fn read_firewalls(
    session: &Session,
    url: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Result<usize, String> {
    let mut count = 0;
    let project = project_ext
        .get("project_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let what = format!("project {project}: listing firewalls");
    gcp::list(&session.http, &what, url, &session.token, |page| {
        for firewall in page
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            count += 1;
            // As upstream's: the firewall itself has no common type (its
            // rules are `firewall_rule` records).
            let record = gcp::record(project_ext, "firewall")
                .com_record_type(None)
                .reference(firewall.get("selfLink").cloned());
            emit.record(record.to_json(firewall));
            for rule in firewall_rules(firewall, project_ext) {
                emit.record(rule);
            }
        }
    })
    .map_err(|e| format!("gcpcloud: {e}"))?;
    Ok(count)
}

/// The instances of `zone`, or of every zone through `aggregated/instances`.
fn read_instances(
    session: &Session,
    project: &str,
    base: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Result<usize, String> {
    let zone = session.params.zone.as_deref().filter(|z| !z.is_empty());
    let url = match zone {
        Some(zone) => format!("{base}/projects/{project}/zones/{zone}/instances"),
        None => format!("{base}/projects/{project}/aggregated/instances"),
    };
    let mut count = 0;
    let mut emit_instance = |instance: &Value| {
        count += 1;
        let zone = instance
            .get("zone")
            .and_then(Value::as_str)
            .and_then(|z| z.rsplit('/').next());
        let record = gcp::record(project_ext, "compute")
            .reference(instance.get("selfLink").cloned())
            .ext("zone", zone);
        emit.record(record.to_json(instance));
    };
    gcp::list(
        &session.http,
        &format!("project {project}: listing instances"),
        &url,
        &session.token,
        |page| match page.get("items") {
            Some(Value::Array(items)) => items.iter().for_each(&mut emit_instance),
            // aggregatedList: {"zones/<zone>": {"instances": [...]} or {"warning": ...}}
            Some(Value::Object(zones)) => zones
                .values()
                .filter_map(|scope| scope.get("instances").and_then(Value::as_array))
                .flatten()
                .for_each(&mut emit_instance),
            _ => {}
        },
    )
    .map_err(|e| format!("gcpcloud: project {project}: {e}"))?;
    Ok(count)
}
