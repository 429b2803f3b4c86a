"""Google APIs served from a table (imported by cloud_server.py, which
signs in, logs and injects faults): each route is a verb and a path with
`{project}` in it, and what it answers for each project.

- `Pages(key, {project: [page, ...]})`: a list, one body a page, the server
  adding `nextPageToken` (the next page's index) to every page but the last.
  A project without pages gets one empty page, as Google sends it (no
  `key` at all).
- `One({project: body}, default)`: one resource; `default(project)` for a
  project the table does not name (None: 404). A path without `{project}`
  (a bucket) has its body under None.
- Routes of APIs that accept only the `cloud-platform` OAuth scope (IAM,
  Monitoring, Cloud KMS, Dataproc, Essential Contacts: not
  `cloud-platform.read-only`) are wrapped in `FullScope`: a token whose
  scopes are known (a self-signed JWT's) and lack it gets Google's 403
  ACCESS_TOKEN_SCOPE_INSUFFICIENT.

Fixtures: `*.gcpdiag_*.json` are real API answers captured by
GoogleCloudPlatform/gcpdiag (test-data/*/json-dumps, snapshot 06ec8584,
copied byte for byte); `*.derived.json` are written here in the shape of
Google's API references, where no published answer was found. Only
example-project has resources; second-project gets empty lists and
minimal singletons.
"""

import json
import pathlib
import re

EXAMPLE = "example-project"

# The API prefixes served from the table (what needs a Google token).
PREFIXES = ("/dns/v1/", "/iam/v1/", "/apikeys/v2/", "/serviceusage/v1/", "/logging/v2/", "/monitoring/v3/",
            "/cloudkms/v1/", "/bigquery/v2/", "/dataproc/v1/", "/essentialcontacts/v1/")


class Pages:
    def __init__(self, key, pages):
        self.key = key
        self.pages = pages

    def answer(self, project, query, scope=None):
        pages = self.pages.get(project) or [{}]
        index = int((query.get("pageToken") or ["0"])[0])
        if index >= len(pages):
            return 400, {"error": {"code": 400, "message": "Invalid page token.", "status": "INVALID_ARGUMENT"}}
        body = dict(pages[index])
        if index + 1 < len(pages):
            body["nextPageToken"] = str(index + 1)
        return 200, body


class One:
    def __init__(self, bodies, default=None):
        self.bodies = bodies
        self.default = default

    def answer(self, project, query, scope=None):
        body = self.bodies.get(project)
        if body is None and self.default is not None:
            body = self.default(project)
        if body is None:
            return 404, not_found()
        return 200, body


CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


class FullScope:
    def __init__(self, route):
        self.route = route

    def answer(self, project, query, scope=None):
        if scope is not None and CLOUD_PLATFORM not in scope.split():
            return 403, {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                                   "status": "PERMISSION_DENIED",
                                   "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}]}}
        return self.route.answer(project, query)


def not_found():
    return {"error": {"code": 404, "message": "The requested resource was not found.", "status": "NOT_FOUND"}}


def routes(data):
    """The table, with the fixtures of `data` (tests/data/gcp)."""
    data = pathlib.Path(data)
    load = lambda name: json.loads((data / name).read_text())
    derived = load("iam_keys_dns_policies.derived.json")
    logs = load("logging_monitoring_dns_zones.derived.json")
    more = load("kms_bigquery_dataproc_contacts.derived.json")
    keys = [load("cryptoKeys_get.gcpdiag_gke1_enabled.json"), load("cryptoKeys_get.gcpdiag_gke1_disabled.json"),
            more["keyWithoutRotation"]]
    # networks.list of the two published networks (networks.get answers,
    # wrapped here in a list page).
    networks = [load("networks_get.gcpdiag_gce1_default.json"),
                load("networks_get.gcpdiag_apigee1_apigee-network.json")]
    table = {
        ("POST", "/cloudresourcemanager/v1/projects/{project}:getIamPolicy"): One(
            {EXAMPLE: load("projects_getIamPolicy.gcpdiag_gce3.json")},
            lambda p: {"version": 1, "etag": "BwAAAAAAAAA=",
                       "bindings": [{"role": "roles/owner", "members": ["user:owner@example.com"]}]}),
        ("GET", "/compute/v1/projects/{project}"): One(
            {EXAMPLE: load("projects_get.gcpdiag_gce1.json")},
            lambda p: {"kind": "compute#project", "name": p, "id": "1",
                       "selfLink": f"https://www.googleapis.com/compute/v1/projects/{p}",
                       "commonInstanceMetadata": {"kind": "compute#metadata", "fingerprint": "AAAA"}}),
        ("GET", "/compute/v1/projects/{project}/global/networks"): Pages(
            "items", {EXAMPLE: [{"kind": "compute#networkList", "items": networks}]}),
        ("GET", "/compute/v1/projects/{project}/aggregated/subnetworks"): Pages(
            "items", {EXAMPLE: [load("subnetworks_aggregatedList.gcpdiag_gce1.json")]}),
        ("GET", "/compute/v1/projects/{project}/aggregated/backendServices"): Pages(
            "items", {EXAMPLE: [load("backendServices_aggregatedList.gcpdiag_gke1.json")]}),
        ("GET", "/dns/v1/projects/{project}/policies"): Pages(
            "policies", {EXAMPLE: [{"kind": "dns#policiesListResponse", "policies": page} for page in derived["dnsPolicies"]]}),
        ("GET", "/iam/v1/projects/{project}/serviceAccounts"): FullScope(Pages(
            "accounts", {EXAMPLE: [load("serviceAccounts_list.gcpdiag_gce1.json")]})),
        ("GET", "/apikeys/v2/projects/{project}/locations/global/keys"): Pages(
            "keys", {EXAMPLE: [{"keys": page} for page in derived["apiKeys"]]}),
        ("GET", "/serviceusage/v1/projects/{project}/services"): Pages(
            "services", {EXAMPLE: [load("services_list.gcpdiag_gce1.json")]}),
        ("GET", "/logging/v2/projects/{project}/sinks"): Pages(
            "sinks", {EXAMPLE: [{"sinks": page} for page in logs["sinks"]]}),
        ("GET", "/logging/v2/projects/{project}/metrics"): Pages(
            "metrics", {EXAMPLE: [{"metrics": page} for page in logs["metrics"]]}),
        ("GET", "/monitoring/v3/projects/{project}/alertPolicies"): FullScope(Pages(
            "alertPolicies", {EXAMPLE: [{"alertPolicies": page} for page in logs["alertPolicies"]]})),
        ("GET", "/dns/v1/projects/{project}/managedZones"): Pages(
            "managedZones", {EXAMPLE: [{"kind": "dns#managedZonesListResponse", "managedZones": page}
                                       for page in logs["managedZones"]]}),
    }
    table.update({
        ("GET", "/cloudkms/v1/projects/{project}/locations"): FullScope(Pages(
            "locations", {EXAMPLE: [{"locations": more["kmsLocations"]}]})),
        ("GET", "/compute/v1/projects/{project}/regions"): Pages(
            "items", {EXAMPLE: [{"kind": "compute#regionList", "items": more["regions"]}]}),
        ("GET", "/dataproc/v1/projects/{project}/regions/us-central1/clusters"): FullScope(Pages(
            "clusters", {EXAMPLE: [load("clusters_list.gcpdiag_dataproc1_us-central1.json")]})),
        ("GET", "/bigquery/v2/projects/{project}/datasets"): Pages(
            "datasets", {EXAMPLE: [{"kind": "bigquery#datasetList", "datasets": more["datasetsList"]}]}),
        ("GET", "/essentialcontacts/v1/projects/{project}/contacts"): FullScope(Pages(
            "contacts", {EXAMPLE: [{"contacts": more["contacts"][:1]}, {"contacts": more["contacts"][1:]}]})),
    })
    for region in more["regions"]:
        if region["name"] != "us-central1":
            table[("GET", "/dataproc/v1/projects/{project}/regions/" + region["name"] + "/clusters")] = FullScope(
                Pages("clusters", {}))
    for location in more["kmsLocations"]:
        if location["locationId"] not in more["keyRings"]:
            table[("GET", "/cloudkms/v1/projects/{project}/locations/" + location["locationId"] + "/keyRings")] = FullScope(
                Pages("keyRings", {}))
    for location, rings in more["keyRings"].items():
        table[("GET", "/cloudkms/v1/projects/{project}/locations/" + location + "/keyRings")] = FullScope(Pages(
            "keyRings", {EXAMPLE: [{"keyRings": rings}]}))
        for ring in rings:
            # The keys' names are gcpdiag's project's: their paths are.
            table[("GET", "/cloudkms/v1/" + ring["name"] + "/cryptoKeys")] = FullScope(One(
                {None: {"cryptoKeys": keys, "totalSize": len(keys)}}))
    for key in keys:
        policy = load("cryptoKeys_getIamPolicy.gcpdiag_apigee1.json") if key["name"].endswith("/kms-key-enabled") else {"version": 1, "etag": "ACAB"}
        table[("GET", "/cloudkms/v1/" + key["name"] + ":getIamPolicy")] = FullScope(One({None: policy}))
    for dataset_id, dataset in more["datasets"].items():
        base = "/bigquery/v2/projects/{project}/datasets/" + dataset_id
        table[("GET", base)] = One({EXAMPLE: dataset})
        listed = more["tables"][dataset_id]
        table[("GET", base + "/tables")] = Pages("tables", {EXAMPLE: [{"kind": "bigquery#tableList", "tables": listed,
                                                                      "totalItems": len(listed)}]})
        for item in listed:
            table_id = item["tableReference"]["tableId"]
            table[("GET", base + "/tables/" + table_id)] = One(
                {EXAMPLE: {**item, **more["tableDetails"][dataset_id + "." + table_id]}})
    for organization, contacts in more["organizationContacts"].items():
        table[("GET", "/essentialcontacts/v1/organizations/" + organization + "/contacts")] = FullScope(Pages(
            "contacts", {None: [{"contacts": contacts}]}))
    for name, bucket in logs["buckets"].items():
        table[("GET", "/storage/v1/b/" + name)] = One({None: bucket})
    for email, keys in derived["serviceAccountKeys"].items():
        table[("GET", "/iam/v1/projects/{project}/serviceAccounts/" + email + "/keys")] = FullScope(One(
            {EXAMPLE: {"keys": keys}}))
    return [(verb, re.compile("^" + re.escape(path).replace(re.escape("{project}"), "(?P<project>[^/:]+)") + "$"), route)
            for (verb, path), route in table.items()]


def answer(table, verb, path, query, scope=None):
    """(status, body) of the route of `table` for `verb` and `path`, for a
    token of the OAuth scopes `scope` (None: unknown); None when no route
    has them."""
    for route_verb, pattern, route in table:
        match = pattern.match(path)
        if match and route_verb == verb:
            return route.answer(match.groupdict().get("project"), query, scope)
    return None
