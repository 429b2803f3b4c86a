"""A local server that speaks the Azure (Entra ID token, Resource Manager)
and Google (OAuth2 token, Compute Engine) REST APIs the cloud plugins use,
replaying the published examples in tests/data.

- Signing in (the checks are in identity.py). Azure: the token endpoint
  takes a client secret, a client assertion signed with --client-cert's key,
  or the federated (workload identity) token --federated-token (an
  assertion whose `exp` has passed is refused as expired); --identity-header
  enables the App Service managed identity endpoint (/msi/token);
  --token-lifetime sets `expires_in`. Google: Compute Engine and the other
  APIs accept the key file's self-signed JWT (--gcp-key) and the tokens
  issued here: by the metadata server (/computeMetadata/v1/...), by an
  authorized_user refresh (/token, --refresh-token), by the STS exchange
  of the subject token --subject-token (/v1/token), and by IAM Credentials
  generateAccessToken. Every API call must carry an issued token; the log
  says which kind (`grant`, `bearer`). With --tls-port and --cert/--key
  the same API is served over TLS too (azure_identity signs in over https
  only).
- Paging: Azure `nextLink` and Google `nextPageToken` point back here.
- Faults on demand: `--fail SUBSTRING=STATUS[xCOUNT]` answers requests whose
  path contains SUBSTRING with STATUS (COUNT times, default always), with a
  `Retry-After` header for 429/503 (`--retry-after`), and the service's error
  body. `--latency-ms` delays every answer; `--subscriptions N` serves N
  subscriptions. Misbehaving servers: `--cycle SUBSTRING` makes the last
  page of matching Azure lists link back to the first, `--stuck-page-token`
  makes Google's last firewall page repeat the previous `nextPageToken`,
  `--huge SUBSTRING` answers matching requests with a 4 MiB JSON body sent
  chunked (no Content-Length), and `--echo-token-errors` refuses Azure token
  requests with an error that quotes the request body, secret included.
  `--token-error STATUS:BODY` answers every Azure token request with STATUS
  and BODY as given (an Entra ID error, a gateway's page, nothing).
  `--scale-vms N` serves N virtual machines (for the CPU benchmark).
  `--page-size N` re-pages every Azure list (those served in one page too)
  and the Cloud Storage and Cloud SQL lists at N items a page.
- Key Vault: the vaults of key_vault.derived.json in the first subscription
  (their `vaultUri` pointing here) and their diagnostic settings, and their data plane under
  `/vaults/<name>/keys`, `/secrets` and `/certificates` (paged), each key's
  rotation policy and each certificate's policy, which accepts only the token
  issued for the `https://vault.azure.net/.default` scope; kv-firewalled
  answers 403 ForbiddenByFirewall.
- Google: projects.list under /cloudresourcemanager/v1 (two pages, the
  lifecycleState:ACTIVE filter honoured); only example-project has
  firewalls, instances, buckets (with IAM policies, under /storage/v1) and
  Cloud SQL instances (under /sqladmin/v1). The other Google APIs (IAM
  policy, Compute Engine project, networks, subnetworks, backend services,
  DNS, IAM, API Keys, Service Usage, Logging, Monitoring, a log sink's
  bucket, regions, Cloud KMS, BigQuery, Dataproc, Essential Contacts) are
  served from the table of
  gcp_api.py. A --fail SUBSTRING ending in `$` matches the paths that end
  with it (`/projects/example-project$`: only Compute Engine's
  projects.get). A Google API answers an injected 403 with Google's error
  shape.
- Web apps: the sites of web_app.derived.json (two pages) and each one's
  `config/web`; app-noconfig's configuration answers 403.
- PostgreSQL: the single and flexible servers of postgres.derived.json and
  their `configurations` (paged); pg-flex-denied's answer 403.
- SQL: the servers of sql.derived.json with their auditing settings,
  firewall rules, databases and each database's TDE.
- Storage: the published storage accounts (two with the keys' creation
  time) and each one's blob and file services (storage_services.derived.json).
- Application Insights: the published components in the first
  subscription; the others have none.
- Databricks: the first subscription's workspaces of databricks.derived.json,
  the virtual networks two of them are deployed in (GET by id), and each
  workspace's diagnostic settings (as any resource's, by its name).
- Disks: the published disk list, then (derived) one attached disk.
- Monitor: the first subscription's locations, log profile and diagnostic
  setting of monitor.derived.json; the others have none.
- Security: the first subscription's Defender plans (two pages), security
  contact and activity log alerts of security.derived.json; the others have
  none. Defender settings and assessments: the published lists (endpoint
  protection off; one VM not checked for updates) in the first
  subscription, their compliant twins in the others.
- Network: the first subscription's virtual networks, Bastion host, Network
  Watcher and its flow logs (two pages), Application Gateway WAF policies
  and virtual network gateways (listed as the subscription's resources,
  then read by id) of network.derived.json; the others have none.
- Microsoft Graph (under /graph, with the token issued for a scope ending
  /graph/.default): the security defaults policy (off; on with
  --entra-compliant) and the users' registration details (two pages) of
  entra.derived.json.
- Authorization: the first subscription's role definitions and role
  assignments of authorization.derived.json; the role assignments at the
  root scope / answer 403 unless --root-readable.
  Each request is logged to --log as a JSON line (path, start,
  end) so tests can check concurrency.
Prints READY; stops when its standard input closes.
"""

import argparse
import copy
import json
import pathlib
import time
import urllib.parse

import gcp_api
import identity
import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, log=True)
parser.add_argument("--data", required=True)
parser.add_argument("--client", default="client-id")
parser.add_argument("--secret", default="client-secret")
parser.add_argument("--fail", action="append", default=[])
parser.add_argument("--retry-after", default="1")
parser.add_argument("--latency-ms", type=int, default=0)
parser.add_argument("--subscriptions", type=int, default=2)
parser.add_argument("--subscriptions-per-page", type=int, default=1)
parser.add_argument("--cycle", default=None)
parser.add_argument("--stuck-page-token", action="store_true")
parser.add_argument("--huge", default=None)
parser.add_argument("--echo-token-errors", action="store_true")
parser.add_argument("--token-error", help="STATUS:BODY: answer Azure token requests with this")
parser.add_argument("--page-size", type=int, default=0,
                    help="re-page every Azure list and the Cloud Storage and Cloud SQL lists at this many items a page")
parser.add_argument("--tls-port", type=int, default=0, help="serve over TLS here too, with --cert/--key")
parser.add_argument("--client-cert", help="PEM certificate of the Entra ID client's certificate credential")
parser.add_argument("--federated-token", help="the workload identity token the Entra ID app trusts")
parser.add_argument("--identity-header", help="the App Service managed identity secret header")
parser.add_argument("--token-lifetime", type=int, default=3599)
parser.add_argument("--gcp-key", help="the service-account key whose self-signed JWTs are accepted")
parser.add_argument("--subject-token", help="the external account subject token STS accepts")
parser.add_argument("--refresh-token", help="the authorized_user refresh token accepted")
parser.add_argument("--entra-compliant", action="store_true",
                    help="Microsoft Graph answers security defaults on and every member registered for MFA")
parser.add_argument("--root-readable", action="store_true",
                    help="answer the role assignments at the root scope / (else 403, as for an identity without elevated access)")
parser.add_argument("--scale-vms", type=int, default=0,
                    help="serve this many virtual machines (copies of the published example, derived), 1000 a page")
args = parser.parse_args()

DATA = pathlib.Path(args.data)
BASE = f"http://127.0.0.1:{args.port}"
AZURE_TOKEN = "azure-token-123"
# Issued for the Key Vault data plane scope (https://vault.azure.net/.default)
# and accepted only there, as Key Vault does.
VAULT_TOKEN = "vault-token-789"
# Issued for Microsoft Graph (a scope ending /graph/.default, as tests set
# the graph endpoint to <server>/graph) and accepted only there.
GRAPH_TOKEN = "graph-token-987"
GOOGLE_TOKEN = "google-token-456"
# Issued by the STS exchange (federated) and by IAM Credentials (impersonated).
FEDERATED_TOKEN = "federated-token-321"
IMPERSONATED_TOKEN = "impersonated-token-654"
CLIENT_CERT = identity.ClientCertificate(args.client_cert) if args.client_cert else None
SERVICE_ACCOUNT = identity.ServiceAccount(args.gcp_key or str(pathlib.Path(args.data) / "gcp" / "service_account_key.google-auth-library-python.json"))
LOG = testserver.RequestLog(args.log)
FAULTS = testserver.Faults(args.fail)


def azure(name):
    return json.loads((DATA / "azure" / name).read_text())["responses"]["200"]["body"]


def derived(name):
    return json.loads((DATA / "azure" / name).read_text())["body"]


def gcp(name):
    return json.loads((DATA / "gcp" / name).read_text())


SUBS = azure("Subscriptions_List.2022-12-01.GetSubscriptions.json")["value"]
SUBSCRIPTIONS = []
for i in range(args.subscriptions):
    sub = copy.deepcopy(SUBS[i % len(SUBS)])
    if i >= len(SUBS):
        sub["subscriptionId"] = f"00000000-0000-0000-0000-{i:012d}"
        sub["id"] = "/subscriptions/" + sub["subscriptionId"]
        sub["displayName"] = f"Generated subscription {i}"
    SUBSCRIPTIONS.append(sub)
FIRST_SUB = SUBSCRIPTIONS[0]["subscriptionId"]

VM = azure("VirtualMachines_Get.2024-07-01.VirtualMachine_Get.json")
ENCRYPTED_VM = copy.deepcopy(VM)
ENCRYPTED_VM["name"] = "myEncryptedVM"
ENCRYPTED_VM["id"] = VM["id"].replace("/myVM", "/myEncryptedVM")
RESOURCE_GROUPS = [{"id": f"/subscriptions/{FIRST_SUB}/resourceGroups/myResourceGroup", "name": "myResourceGroup",
                    "type": "Microsoft.Resources/resourceGroups", "location": "westus",
                    "properties": {"provisioningState": "Succeeded"}}]

# Resources of the first subscription; the others have none (except with
# --all-subscriptions-full, for benchmarks). Each list is
# served in pages: a list of pages, each a list of items.
RESOURCES = {
    "providers/Microsoft.Compute/virtualMachines": [[VM], [ENCRYPTED_VM]],
    "providers/Microsoft.Network/applicationGateways": [azure("ApplicationGateways_ListAll.2024-03-01.ApplicationGatewayListAll.json")["value"]],
    "providers/Microsoft.Network/loadBalancers": [azure("LoadBalancers_ListAll.2024-03-01.LoadBalancerListAll.json")["value"]],
    "providers/Microsoft.Network/networkInterfaces": [azure("NetworkInterfaces_ListAll.2024-03-01.NetworkInterfaceListAll.json")["value"]],
    "providers/Microsoft.Network/networkSecurityGroups": [
        azure("NetworkSecurityGroups_ListAll.2024-03-01.NetworkSecurityGroupListAll.json")["value"],
        [derived("nsg_open.derived.json")],
    ],
    "providers/Microsoft.Network/publicIPAddresses": [azure("PublicIPAddresses_ListAll.2024-03-01.PublicIpAddressListAll.json")["value"]],
    "providers/Microsoft.Storage/storageAccounts": [azure("StorageAccounts_List.2024-01-01.StorageAccountList.json")["value"]],
    "resourcegroups": [RESOURCE_GROUPS],
}
if args.scale_vms:
    # Derived for benchmarks: copies of the published VM with their own ids.
    scaled = []
    for i in range(args.scale_vms):
        vm = copy.deepcopy(VM)
        vm["name"] = f"myVM{i}"
        vm["id"] = VM["id"].replace("/myVM", f"/myVM{i}")
        scaled.append(vm)
    RESOURCES["providers/Microsoft.Compute/virtualMachines"] = [scaled[i:i + 1000] for i in range(0, len(scaled), 1000)]
KEY_VAULT = json.loads((DATA / "azure" / "key_vault.derived.json").read_text())
for vault in KEY_VAULT["vaults"]:
    vault["id"] = vault["id"].replace("{subscription-id}", FIRST_SUB)
    vault["properties"]["vaultUri"] = f"{BASE}/vaults/{vault['name']}/"
RESOURCES["providers/Microsoft.KeyVault/vaults"] = [KEY_VAULT["vaults"]]
WEB_APPS = json.loads((DATA / "azure" / "web_app.derived.json").read_text())
for site in WEB_APPS["sites"]:
    site["id"] = site["id"].replace("{subscription-id}", FIRST_SUB)
RESOURCES["providers/Microsoft.Web/sites"] = [WEB_APPS["sites"][:2], WEB_APPS["sites"][2:]]
POSTGRES = json.loads((DATA / "azure" / "postgres.derived.json").read_text())
for server in POSTGRES["servers"] + POSTGRES["flexibleServers"]:
    server["id"] = server["id"].replace("{subscription-id}", FIRST_SUB)
RESOURCES["providers/Microsoft.DBforPostgreSQL/servers"] = [POSTGRES["servers"]]
RESOURCES["providers/Microsoft.DBforPostgreSQL/flexibleServers"] = [POSTGRES["flexibleServers"]]
SQL = json.loads((DATA / "azure" / "sql.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
RESOURCES["providers/Microsoft.Sql/servers"] = [SQL["servers"]]
# Derived: two MySQL single servers, one without TLS enforcement (no
# published example lists servers with sslEnforcement).
MYSQL = [{"id": f"/subscriptions/{FIRST_SUB}/resourceGroups/mysql-rg/providers/Microsoft.DBforMySQL/servers/{name}",
          "name": name, "type": "Microsoft.DBforMySQL/servers", "location": "westus",
          "sku": {"name": "GP_Gen5_2", "tier": "GeneralPurpose"},
          "properties": {"administratorLogin": "cloudsa", "version": "5.7", "sslEnforcement": ssl,
                         "minimalTlsVersion": "TLS1_2" if ssl == "Enabled" else "TLSEnforcementDisabled",
                         "userVisibleState": "Ready", "fullyQualifiedDomainName": f"{name}.mysql.database.azure.com"}}
         for name, ssl in [("mysql-tls", "Enabled"), ("mysql-plain", "Disabled")]]
RESOURCES["providers/Microsoft.DBforMySQL/servers"] = [MYSQL]
# The published disk list, and (derived) a copy of its first disk attached
# to the published VM, since the example has no attached disk.
DISKS = azure("Disks_List.2024-03-02.Disk_ListBySubscription.json")["value"]
ATTACHED_DISK = copy.deepcopy(DISKS[0])
ATTACHED_DISK["name"] = "myAttachedDisk"
ATTACHED_DISK["id"] = DISKS[0]["id"].replace("myManagedDisk1", "myAttachedDisk")
ATTACHED_DISK["managedBy"] = VM["id"]
RESOURCES["providers/Microsoft.Compute/disks"] = [DISKS, [ATTACHED_DISK]]
MONITOR = json.loads((DATA / "azure" / "monitor.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
RESOURCES["locations"] = [MONITOR["locations"]]
RESOURCES["providers/Microsoft.Insights/logprofiles"] = [MONITOR["logprofiles"]]
RESOURCES["providers/Microsoft.Insights/diagnosticSettings"] = [MONITOR["diagnosticSettings"]]
SECURITY = json.loads((DATA / "azure" / "security.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
# The pricings in two pages (nextLink), the contacts and alerts in one.
RESOURCES["providers/Microsoft.Security/pricings"] = [SECURITY["pricings"][:8], SECURITY["pricings"][8:]]
RESOURCES["providers/Microsoft.Security/securityContacts"] = [SECURITY["securityContacts"]]
RESOURCES["providers/Microsoft.Insights/activityLogAlerts"] = [SECURITY["activityLogAlerts"]]
NETWORK = json.loads((DATA / "azure" / "network.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
RESOURCES["providers/Microsoft.Network/virtualNetworks"] = [NETWORK["virtualNetworks"]]
RESOURCES["providers/Microsoft.Network/bastionHosts"] = [NETWORK["bastionHosts"]]
RESOURCES["providers/Microsoft.Network/networkWatchers"] = [NETWORK["networkWatchers"]]
RESOURCES["providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"] = [NETWORK["wafPolicies"]]
# The subscription's resources, as Resources_List answers them: only the
# virtual network gateways (the one type read through it), each then read
# by id.
VPN_GATEWAYS = {g["name"]: g for g in NETWORK["vpnGateways"]}
RESOURCES["resources"] = [[{k: g[k] for k in ("id", "name", "type", "location")} for g in NETWORK["vpnGateways"]]]
RESOURCES[NETWORK["watcherFlowLogsPath"]] = [NETWORK["flowLogs"][:2], NETWORK["flowLogs"][2:]]
AUTHORIZATION = json.loads((DATA / "azure" / "authorization.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
RESOURCES["providers/Microsoft.Authorization/roleDefinitions"] = [AUTHORIZATION["roleDefinitions"]]
RESOURCES["providers/Microsoft.Authorization/roleAssignments"] = [AUTHORIZATION["roleAssignments"]]
# The blob and file services of each storage account, and the keys'
# creation times of two accounts (storage_services.derived.json).
STORAGE_SERVICES = derived("storage_services.derived.json")
# Midnight UTC, so that two servers started apart answer the same.
_ten_days_ago = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 10 * 86400))
for account in RESOURCES["providers/Microsoft.Storage/storageAccounts"][0]:
    created = STORAGE_SERVICES["keyCreationTime"].get(account["name"])
    if created is not None:
        account["properties"]["keyCreationTime"] = {k: v.replace("{10 days ago}", _ten_days_ago) for k, v in created.items()}
DATABRICKS = json.loads((DATA / "azure" / "databricks.derived.json").read_text().replace("{subscription-id}", FIRST_SUB))
RESOURCES["providers/Microsoft.Databricks/workspaces"] = [DATABRICKS["workspaces"]]
# The diagnostic settings of single resources, by the resource's name.
RESOURCE_DIAGNOSTIC_SETTINGS = dict(DATABRICKS["diagnosticSettings"])
RESOURCE_DIAGNOSTIC_SETTINGS.update(json.loads(json.dumps(KEY_VAULT["diagnosticSettings"]).replace("{subscription-id}", FIRST_SUB)))
# The published Application Insights components, in the first subscription.
RESOURCES["providers/Microsoft.Insights/components"] = [azure("Components_List.2020-02-02.ComponentsList.json")["value"]]
ENTRA = json.loads((DATA / "azure" / "entra.derived.json").read_text())
INSTANCE_VIEW = azure("VirtualMachines_InstanceView.2024-07-01.VirtualMachine_Get_InstanceView.json")
ENCRYPTED_VIEW = derived("vm_encrypted_instance_view.derived.json")

# Derived: the projects the service account sees (Cloud Resource Manager
# v1 projects.list), in two pages; only example-project (the key file's) has
# resources, and deleted-project is not ACTIVE.
PROJECTS = [
    [{"projectNumber": "123456789012", "projectId": "example-project", "lifecycleState": "ACTIVE", "name": "Example Project",
      "createTime": "2020-01-01T00:00:00.000Z", "parent": {"type": "organization", "id": "1000"}},
     {"projectNumber": "223456789012", "projectId": "second-project", "lifecycleState": "ACTIVE", "name": "Second Project",
      "createTime": "2021-01-01T00:00:00.000Z", "parent": {"type": "organization", "id": "1000"}}],
    [{"projectNumber": "323456789012", "projectId": "deleted-project", "lifecycleState": "DELETE_REQUESTED", "name": "Deleted",
      "createTime": "2019-01-01T00:00:00.000Z"}],
]
# Derived (Cloud Storage JSON API v1 and Cloud SQL Admin API v1 shapes):
# example-project's buckets with their IAM policies, and its SQL instances.
BUCKETS = [
    {"kind": "storage#bucket", "id": "public-bucket", "name": "public-bucket", "projectNumber": "123456789012",
     "selfLink": f"{BASE}/storage/v1/b/public-bucket", "location": "US", "storageClass": "STANDARD",
     "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}, "publicAccessPrevention": "inherited"}},
    {"kind": "storage#bucket", "id": "private-bucket", "name": "private-bucket", "projectNumber": "123456789012",
     "selfLink": f"{BASE}/storage/v1/b/private-bucket", "location": "US", "storageClass": "STANDARD",
     "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"}},
]
BUCKET_POLICIES = {
    "public-bucket": {"kind": "storage#policy", "resourceId": "projects/_/buckets/public-bucket", "version": 1, "etag": "CAE=",
                      "bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]},
                                   {"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:example-project"]}]},
    "private-bucket": {"kind": "storage#policy", "resourceId": "projects/_/buckets/private-bucket", "version": 1, "etag": "CAE=",
                       "bindings": [{"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:example-project"]}]},
}
SQL_INSTANCES = [
    {"kind": "sql#instance", "name": "pg-open", "project": "example-project", "databaseVersion": "POSTGRES_14", "state": "RUNNABLE",
     "selfLink": f"{BASE}/sqladmin/v1/projects/example-project/instances/pg-open",
     "settings": {"tier": "db-custom-1-3840", "ipConfiguration": {"ipv4Enabled": True, "requireSsl": False,
                  "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                  "authorizedNetworks": [{"kind": "sql#aclEntry", "name": "anywhere", "value": "0.0.0.0/0"},
                                         {"kind": "sql#aclEntry", "name": "office", "value": "203.0.113.0/24"}]}}},
    {"kind": "sql#instance", "name": "mysql-private", "project": "example-project", "databaseVersion": "MYSQL_8_0", "state": "RUNNABLE",
     "selfLink": f"{BASE}/sqladmin/v1/projects/example-project/instances/mysql-private",
     "settings": {"tier": "db-n1-standard-1", "ipConfiguration": {"ipv4Enabled": False, "requireSsl": True,
                  "sslMode": "ENCRYPTED_ONLY", "authorizedNetworks": []}}},
]
FIREWALL_PAGES = [gcp("firewalls_list.page1.forseti.json"), gcp("firewalls_list.page2.forseti.json")]
GCP_TABLE = gcp_api.routes(DATA / "gcp")
GOOGLE_PREFIXES = ("/cloudresourcemanager/v1/", "/storage/v1/", "/sqladmin/v1/", "/compute/v1/") + gcp_api.PREFIXES


def google_page(body, items, query):
    """`body` with the page of `items` that `pageToken` asks for (all of
    them unless --page-size), and the next page's token."""
    if not args.page_size:
        return {**body, "items": items}
    start = int((query.get("pageToken") or ["0"])[0])
    end = start + args.page_size
    body = {**body, "items": items[start:end]}
    if end < len(items):
        body["nextPageToken"] = str(end)
    return body


class Handler(testserver.Handler):
    def reply(self, status, body, headers=()):
        self.send_json(status, body, headers)

    def handle_request(self):
        verb = self.command
        self.note = {}
        start = time.time()
        raw = self.read_body()
        url = urllib.parse.urlparse(self.path)
        if args.latency_ms:
            time.sleep(args.latency_ms / 1000)
        try:
            if args.huge and args.huge in url.path:
                self.huge()
            elif not self.injected_fault(url.path):
                self.route(verb, url, raw)
        finally:
            LOG.append({"verb": verb, "path": url.path, "start": start, "end": time.time(), **self.note})

    do_GET = do_POST = handle_request

    def injected_fault(self, path):
        fault = FAULTS.take(lambda pattern: path.endswith(pattern[:-1]) if pattern.endswith("$") else pattern in path)
        if fault is None:
            return False
        status = int(fault)
        headers = [("Retry-After", args.retry_after)] if status in (429, 503) else []
        if "/compute/v1/" in path:
            body = gcp("error_403_access_denied.forseti.json") if status == 403 else {
                "error": {"code": status, "message": "Injected failure", "status": "UNAVAILABLE" if status >= 500 else "RESOURCE_EXHAUSTED"}}
        elif path.startswith(GOOGLE_PREFIXES):
            reason = {403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}.get(status, "UNAVAILABLE")
            body = {"error": {"code": status, "message": f"Injected {status} for {path}: the caller does not have permission"
                              if status == 403 else f"Injected {status} for {path}", "status": reason}}
        elif path.startswith("/graph/") and status == 403:
            body = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}
        else:
            code = {403: "AuthorizationFailed", 409: "MissingSubscriptionRegistration",
                    429: "TooManyRequests"}.get(status, "InternalServerError")
            # 409: what Resource Manager answers for a type whose resource
            # provider the subscription has not registered.
            message = (f"The subscription is not registered to use the namespace of {path}"
                       if status == 409 else f"Injected {status} for {path}")
            body = {"error": {"code": code, "message": message}}
        self.reply(status, body, headers)
        return True

    def route(self, verb, url, raw):
        path = url.path
        if verb == "POST" and path.endswith("/oauth2/v2.0/token"):
            return self.azure_token(raw)
        if verb == "POST" and path == "/token":
            return self.google_token(raw)
        if verb == "GET" and path == "/msi/token":
            return self.managed_identity(url)
        if path.startswith("/computeMetadata/v1/"):
            return self.metadata(path)
        if verb == "POST" and path == "/v1/token":
            return self.sts(raw)
        auth = self.headers.get("Authorization")
        if verb == "POST" and path.startswith("/v1/projects/-/serviceAccounts/"):
            return self.generate_access_token(path, auth, raw)
        google = path.startswith(GOOGLE_PREFIXES)
        if google and not self.google_bearer(auth):
            return self.reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})
        if google:
            found = gcp_api.answer(GCP_TABLE, verb, path, urllib.parse.parse_qs(url.query), self.note.get("scope"))
            if found is not None:
                return self.reply(*found)
            if path.startswith(gcp_api.PREFIXES):
                return self.reply(404, gcp_api.not_found())
        if path.startswith("/vaults/"):
            return self.vault(path, urllib.parse.parse_qs(url.query), auth)
        if path.startswith("/graph/"):
            return self.graph(path, urllib.parse.parse_qs(url.query), auth)
        if path == "/cloudresourcemanager/v1/projects":
            return self.projects(urllib.parse.parse_qs(url.query))
        if path.startswith("/storage/v1/") or path.startswith("/sqladmin/v1/"):
            return self.google_data(path, urllib.parse.parse_qs(url.query))
        if path.startswith("/compute/v1/"):
            return self.compute(path, urllib.parse.parse_qs(url.query))
        if auth != f"Bearer {AZURE_TOKEN}":
            return self.reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
        query = urllib.parse.parse_qs(url.query)
        page = int((query.get("$skiptoken") or ["0"])[0])
        if path == "/providers/Microsoft.Authorization/roleAssignments":
            if not args.root_readable:
                return self.reply(403, {"error": {"code": "AuthorizationFailed",
                                                  "message": "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/'."}})
            return self.page(path, query, [AUTHORIZATION["rootAssignments"]], page)
        if path == "/subscriptions":
            n = args.subscriptions_per_page
            return self.page(path, query, [SUBSCRIPTIONS[i:i + n] for i in range(0, len(SUBSCRIPTIONS), n)], page)
        if path.endswith("/instanceView"):
            view = ENCRYPTED_VIEW if "/myEncryptedVM/" in path else INSTANCE_VIEW
            return self.reply(200, view)
        if "/providers/Microsoft.Web/sites/" in path and path.endswith("/config/web"):
            name = path.split("/sites/")[1].split("/")[0]
            config = WEB_APPS["configs"].get(name)
            if config is None:
                return self.reply(403, {"error": {"code": "AuthorizationFailed",
                                                  "message": f"The client does not have authorization to perform action 'Microsoft.Web/sites/config/read' over scope '{path}'."}})
            return self.reply(200, config)
        if "/providers/Microsoft.DBforPostgreSQL/" in path and path.endswith("/configurations"):
            name = path.split("/")[-2]
            pages = POSTGRES["configurations"].get(name)
            if pages is None:
                return self.reply(403, {"error": {"code": "AuthorizationFailed",
                                                  "message": f"The client does not have authorization to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/configurations/read' over scope '{path}'."}})
            return self.page(path, query, pages, page)
        if path.endswith(("/providers/Microsoft.Security/settings", "/providers/Microsoft.Security/assessments")) and path.count("/") == 5:
            sub = path.split("/")[2]
            items = SECURITY[path.rsplit("/", 1)[1]]["first" if sub == FIRST_SUB else "others"]
            return self.page(path, query, [json.loads(json.dumps(items).replace("{other-subscription-id}", sub))], page)
        if "/resourceGroups/" in path and path.endswith("/providers/Microsoft.Insights/diagnosticSettings"):
            name = path.split("/providers/Microsoft.Insights/")[0].rsplit("/", 1)[1]
            settings = RESOURCE_DIAGNOSTIC_SETTINGS.get(name)
            if settings is None:
                return self.reply(404, {"error": {"code": "ResourceNotFound", "message": path}})
            return self.page(path, query, [settings], page)
        if "/providers/Microsoft.Network/virtualNetworkGateways/" in path and path.rsplit("/", 1)[1] in VPN_GATEWAYS:
            return self.reply(200, VPN_GATEWAYS[path.rsplit("/", 1)[1]])
        if "/providers/Microsoft.Network/virtualNetworks/" in path and path.rsplit("/", 1)[1] in DATABRICKS["virtualNetworks"]:
            return self.reply(200, DATABRICKS["virtualNetworks"][path.rsplit("/", 1)[1]])
        if "/providers/Microsoft.Storage/storageAccounts/" in path and path.endswith(("/blobServices/default", "/fileServices/default")):
            return self.storage_service(path)
        if "/providers/Microsoft.Sql/servers/" in path:
            return self.sql(path, query, page)
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[1] == "subscriptions":
            sub, rest = parts[2], parts[3]
            pages = RESOURCES.get(rest)
            if pages is None:
                return self.reply(404, {"error": {"code": "InvalidResourceType", "message": f"no {rest}"}})
            return self.page(path, query, pages if sub == FIRST_SUB else [[]], page)
        self.reply(404, {"error": {"code": "NotFound", "message": path}})

    def storage_service(self, path):
        """A storage account's blobServices/default or fileServices/default."""
        rest = path.split("/storageAccounts/")[1].split("/")
        services = STORAGE_SERVICES[rest[1]]
        body = copy.deepcopy(services.get(rest[0], services["compliant"]))
        body["id"] = urllib.parse.unquote(path)
        return self.reply(200, body)

    def sql(self, path, query, page):
        """A SQL server's auditing, firewall rules, databases and their TDE."""
        rest = path.split("/providers/Microsoft.Sql/servers/")[1].split("/")
        server = rest[0]
        if rest[1:] == ["auditingSettings", "default"] and server in SQL["auditing"]:
            return self.reply(200, SQL["auditing"][server])
        if rest[1:] == ["firewallRules"] and server in SQL["firewallRules"]:
            return self.page(path, query, [SQL["firewallRules"][server]], page)
        if rest[1:] == ["databases"] and server in SQL["databases"]:
            return self.page(path, query, [SQL["databases"][server]], page)
        if len(rest) == 5 and rest[1] == "databases" and rest[3:] == ["transparentDataEncryption", "current"]:
            tde = SQL["tde"].get(f"{server}/{rest[2]}")
            if tde is not None:
                return self.reply(200, tde)
        self.reply(404, {"error": {"code": "ResourceNotFound", "message": path}})

    def graph(self, path, query, auth):
        """Microsoft Graph: security defaults and users' registration details."""
        if auth != f"Bearer {GRAPH_TOKEN}":
            return self.reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure. Invalid audience."}})
        if path == "/graph/v1.0/policies/identitySecurityDefaultsEnforcementPolicy":
            return self.reply(200, {**ENTRA["securityDefaults"], "isEnabled": args.entra_compliant})
        if path == "/graph/v1.0/reports/authenticationMethods/userRegistrationDetails":
            index = int((query.get("$skiptoken") or ["0"])[0])
            users = copy.deepcopy(ENTRA["users"][index])
            if args.entra_compliant:
                for user in users:
                    user["isMfaRegistered"] = True
            body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": users}
            if index + 1 < len(ENTRA["users"]):
                body["@odata.nextLink"] = f"{BASE}{path}?$skiptoken={index + 1}"
            return self.reply(200, body)
        self.reply(404, {"error": {"code": "Request_ResourceNotFound", "message": path}})

    def vault(self, path, query, auth):
        """The Key Vault data plane: GET /vaults/<name>/keys, /secrets and
        /certificates (paged), a key's rotation policy and a certificate's
        policy."""
        if auth != f"Bearer {VAULT_TOKEN}":
            return self.reply(401, {"error": {"code": "Unauthorized", "message": "AKV10022: Invalid audience."}})
        _, _, name, kind = path.rstrip("/").split("/", 3)
        if name == "kv-firewalled":
            return self.reply(403, {"error": {"code": "Forbidden",
                                              "message": "Client address is not authorized and caller is not a trusted service.",
                                              "innererror": {"code": "ForbiddenByFirewall"}}})
        item = kind.split("/")
        if len(item) == 3 and (item[0], item[2]) in (("keys", "rotationpolicy"), ("certificates", "policy")):
            table = KEY_VAULT["rotationPolicies" if item[0] == "keys" else "certificatePolicies"]
            found = table.get(f"{name}/{item[1]}")
            if found is None:
                return self.reply(404, {"error": {"code": "NotFound", "message": path}})
            return self.reply(200, found)
        pages = KEY_VAULT.get(kind, {}).get(name)
        if pages is None:
            return self.reply(404, {"error": {"code": "NotFound", "message": path}})
        index = int((query.get("$skiptoken") or ["0"])[0])
        self.page(path, query, pages, index)

    def page(self, path, query, pages, index):
        if args.page_size:
            items = [item for page in pages for item in page]
            pages = [items[i:i + args.page_size] for i in range(0, len(items), args.page_size)] or [[]]
        body = {"value": pages[index]}
        api = (query.get("api-version") or [""])[0]
        if index + 1 < len(pages):
            body["nextLink"] = f"{BASE}{path}?api-version={api}&$skiptoken={index + 1}"
        elif args.cycle and args.cycle in path and len(pages) > 1:
            body["nextLink"] = f"{BASE}{path}?api-version={api}&$skiptoken=0"
        self.reply(200, body)

    def huge(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b'"' + b"x" * 65536 + b'",'
        parts = [b'{"value": [', *([chunk] * 64), b'"end"]}']
        try:
            for part in parts:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def azure_token(self, raw):
        if args.token_error:
            status, _, text = args.token_error.partition(":")
            return self.send(int(status), text.encode(), "application/json" if text.startswith("{") else "text/html")
        form = urllib.parse.parse_qs(raw.decode())
        field = lambda name: (form.get(name) or [""])[0]
        scope = field("scope")
        assertion = field("client_assertion")
        audience = f"https://{self.headers.get('Host')}{self.path}"
        if field("grant_type") != "client_credentials" or field("client_id") != args.client or not scope.endswith("/.default"):
            error = "AADSTS7000215: Invalid client secret provided." if field("client_secret") else "AADSTS900144: The request body must contain the following parameter: 'client_id'."
            if args.echo_token_errors:
                return self.reply(400, {"error": "invalid_request",
                                        "error_description": "AADSTS900144: Malformed request: " + raw.decode()})
            return self.reply(401, {"error": "invalid_client", "error_description": error, "error_codes": [7000215]})
        if assertion:
            if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.reply(400, {"error": "invalid_request", "error_description": "AADSTS50027: Invalid client_assertion_type."})
            decoded = identity.parts(assertion)
            if CLIENT_CERT is not None and decoded is not None and "x5t" in decoded[0]:
                error, grant = CLIENT_CERT.check(assertion, args.client, audience), "client_certificate"
            elif decoded is not None and decoded[1].get("exp", 0) < time.time():
                error, grant = "AADSTS700024: Client assertion is not within its valid time range.", "federated"
            elif args.federated_token and assertion == args.federated_token:
                error, grant = None, "federated"
            else:
                error, grant = "AADSTS70021: No matching federated identity record found for presented assertion.", "federated"
            if error:
                return self.reply(400, {"error": "invalid_client", "error_description": error,
                                        "error_codes": [int(error[6:error.index(":")])]})
        elif field("client_secret") == args.secret:
            grant = "client_secret"
        elif args.echo_token_errors:
            return self.reply(400, {"error": "invalid_request",
                                    "error_description": "AADSTS900144: Malformed request: " + raw.decode()})
        else:
            return self.reply(401, {"error": "invalid_client",
                                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                                    "error_codes": [7000215]})
        self.note = {"grant": grant}
        body = json.loads((DATA / "azure" / "oauth2_v2.0_token.client_credentials.success.msdocs.json").read_text())
        body["access_token"] = (VAULT_TOKEN if scope == "https://vault.azure.net/.default"
                                else GRAPH_TOKEN if scope.endswith("/graph/.default") else AZURE_TOKEN)
        body["expires_in"] = args.token_lifetime
        body["ext_expires_in"] = args.token_lifetime
        self.reply(200, body)

    def managed_identity(self, url):
        """The App Service managed identity endpoint (IDENTITY_ENDPOINT)."""
        query = urllib.parse.parse_qs(url.query)
        if not args.identity_header or self.headers.get("X-IDENTITY-HEADER") != args.identity_header:
            return self.reply(401, {"error": "unauthorized", "error_description": "The X-IDENTITY-HEADER is missing or wrong."})
        resource = (query.get("resource") or [""])[0]
        self.note = {"grant": "managed_identity", "client_id": (query.get("client_id") or [None])[0]}
        self.reply(200, {"access_token": VAULT_TOKEN if resource.startswith("https://vault.azure.net") else AZURE_TOKEN,
                         "expires_on": str(int(time.time()) + args.token_lifetime), "resource": resource,
                         "token_type": "Bearer", "client_id": (query.get("client_id") or ["system"])[0]})

    def google_token(self, raw):
        """Google's OAuth token endpoint: an authorized_user refresh (gcloud's
        application default credentials) or a JWT bearer assertion; the
        body is a form or JSON, as Google's endpoint takes either."""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            body = json.loads(raw or b"{}")
            field = lambda name: str(body.get(name) or "")
        else:
            form = urllib.parse.parse_qs(raw.decode())
            field = lambda name: (form.get(name) or [""])[0]
        if field("grant_type") == "refresh_token":
            if not args.refresh_token or field("refresh_token") != args.refresh_token:
                return self.reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            self.note = {"grant": "refresh_token"}
            return self.reply(200, {"access_token": GOOGLE_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
        if field("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or field("assertion").count(".") != 2:
            return self.reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
        self.reply(200, {"access_token": GOOGLE_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def metadata(self, path):
        """The GCE metadata server (GCE_METADATA_HOST)."""
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.reply(403, {"error": "Missing Metadata-Flavor:Google header."})
        if path.rstrip("/").endswith("/instance/service-accounts/default/token"):
            self.note = {"grant": "metadata"}
            return self.reply(200, {"access_token": GOOGLE_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
        text = {"/computeMetadata/v1/universe/universe-domain": "googleapis.com",
                "/computeMetadata/v1/project/project-id": "example-project",
                "/computeMetadata/v1/instance/service-accounts/default/email": "scanner@example-project.iam.gserviceaccount.com"}.get(path)
        if text is None:
            return self.reply(404, {"error": "not found"})
        self.send(200, text.encode(), "application/text", [("Metadata-Flavor", "Google")])

    def sts(self, raw):
        """Google's Security Token Service: exchanges an external subject token."""
        form = urllib.parse.parse_qs(raw.decode())
        field = lambda name: (form.get(name) or [""])[0]
        if field("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
            return self.reply(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type."})
        decoded = identity.parts(field("subject_token"))
        if decoded is not None and decoded[1].get("exp", 0) < time.time():
            return self.reply(400, {"error": "invalid_grant", "error_description": "The token has expired."})
        if not args.subject_token or field("subject_token") != args.subject_token:
            return self.reply(400, {"error": "invalid_grant", "error_description": "The subject token is invalid."})
        self.note = {"grant": "sts", "audience": field("audience"), "scopes": field("scope").split()}
        self.reply(200, {"access_token": FEDERATED_TOKEN, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                         "token_type": "Bearer", "expires_in": 3599})

    def generate_access_token(self, path, auth, raw):
        """IAM Credentials generateAccessToken: acting as another service account."""
        if not path.endswith(":generateAccessToken") or not self.google_bearer(auth):
            return self.reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})
        # The scopes asked for (the log notes them; the token issued is the same).
        self.note["scopes"] = (json.loads(raw or b"{}").get("scope") or [])
        target = path.rsplit("/", 1)[1].split(":")[0]
        self.note["target"] = target
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        self.reply(200, {"accessToken": IMPERSONATED_TOKEN, "expireTime": expires})

    def google_bearer(self, auth):
        """Whether `auth` carries a Google token this server accepts; notes which."""
        token = (auth or "").removeprefix("Bearer ")
        kind = {GOOGLE_TOKEN: "google", FEDERATED_TOKEN: "federated", IMPERSONATED_TOKEN: "impersonated"}.get(token)
        if kind is None and SERVICE_ACCOUNT.accepts(token):
            kind = "self_signed"
            # What a self-signed JWT may do: its scopes (the APIs of
            # gcp_api.py that take only cloud-platform check them).
            self.note["scope"] = identity.parts(token)[1]["scope"]
        if kind:
            self.note["bearer"] = kind
        return kind is not None

    def google_data(self, path, query):
        """Cloud Storage buckets and IAM policies, Cloud SQL instances."""
        if path == "/storage/v1/b":
            items = BUCKETS if query.get("project") == ["example-project"] else []
            return self.reply(200, google_page({"kind": "storage#buckets"}, items, query))
        if path.startswith("/storage/v1/b/") and path.endswith("/iam"):
            policy = BUCKET_POLICIES.get(path.split("/")[4])
            if policy is not None:
                return self.reply(200, policy)
        if path.startswith("/sqladmin/v1/projects/") and path.endswith("/instances"):
            items = SQL_INSTANCES if "/projects/example-project/" in path else []
            return self.reply(200, google_page({}, items, query))
        self.reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

    def projects(self, query):
        index = int((query.get("pageToken") or ["0"])[0])
        wanted = (query.get("filter") or [""])[0]
        items = [p for p in PROJECTS[index] if wanted != "lifecycleState:ACTIVE" or p["lifecycleState"] == "ACTIVE"]
        body = {"projects": items}
        if index + 1 < len(PROJECTS):
            body["nextPageToken"] = str(index + 1)
        self.reply(200, body)

    def compute(self, path, query):
        if "/projects/example-project/" not in path:
            empty = {"items": {}} if path.endswith("/aggregated/instances") else {"items": []}
            return self.reply(200, empty)
        if path.endswith("/global/firewalls"):
            token = (query.get("pageToken") or [None])[0]
            body = copy.deepcopy(FIREWALL_PAGES[1] if token == "123" else FIREWALL_PAGES[0])
            if args.stuck_page_token:
                body["nextPageToken"] = "123"
            return self.reply(200, body)
        if path.endswith("/aggregated/instances"):
            return self.reply(200, gcp("instances_aggregatedList.forseti.json"))
        if "/zones/" in path and path.endswith("/instances"):
            return self.reply(200, gcp("instances_list.forseti.json"))
        self.reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})


testserver.serve(Handler, args)
