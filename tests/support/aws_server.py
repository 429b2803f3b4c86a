"""AWS for the awscloud tests: moto's server (in this process) with a proxy in
front of it that pages lists and injects faults, and the test estate created
through the AWS APIs.

- moto serves EC2, S3 (and S3 Control), IAM, STS, RDS, KMS and CloudTrail for
  any account: credentials from STS AssumeRole act in the role's account.
- The proxy forwards every request to moto and logs it to --log as a JSON
  line (op, start, end). `--page-size N` pages the lists moto answers whole
  (EC2 DescribeInstances, DescribeVolumes, DescribeSecurityGroups,
  DescribeSecurityGroupRules, DescribeVpcs, DescribeFlowLogs,
  DescribeNetworkAcls; IAM ListUsers, ListServerCertificates; RDS
  DescribeDBInstances; KMS ListKeys; the recorded ListAnalyzers) with each
  protocol's own tokens, and asks moto for pages of N where it pages itself
  (EFS DescribeFileSystems, Organizations ListAccounts). `--fail OP=STATUS:CODE[xN]`
  answers the operation OP (N times, default always) with STATUS and the
  service's error body for CODE (EC2, query, JSON or S3 XML).
- moto 5.2.5 answers GetBucketVersioning with a root element named after the
  operation; the proxy renames it VersioningConfiguration, as S3 sends it.
- moto 5.2.5 answers ListServerCertificates with one fixed Expiration
  (2012-05-08) for every certificate; the proxy puts in each certificate's
  own notAfter, read from the body moto stored.
- moto 5.2.5 has no IAM Access Analyzer: the proxy answers ListAnalyzers
  itself with a recorded answer (`ANALYZERS`, derived from the example of
  the Access Analyzer API reference): us-east-1 of every account has an
  active analyzer of external access and one of unused access, the other
  regions none.
- `--organization FILE` makes account A the management account of an
  organization of three more accounts (see `create_organization`) and
  writes their ids to FILE. moto 5.2.5 lets anyone assume any role, even
  one that does not exist: in this mode the proxy answers AssumeRole of a
  role named `audit` with AccessDenied when the account has no such role,
  as STS does.
- `--estate` creates the estate of tests/aws.rs (see `create_estate`). What
  the APIs cannot do (root MFA, root access keys, an access key's age) is
  set on moto's own objects, as a real account would have it.
Prints `READY <proxy port>`; stops when its standard input closes.
"""

import argparse
import datetime
import json
import logging
import re
import time
import urllib.parse
import xml.etree.ElementTree as ET

from moto.server import ThreadedMotoServer

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, log=True, tls=False)
parser.add_argument("--moto-port", type=int, required=True)
parser.add_argument("--page-size", type=int, default=0)
parser.add_argument("--fail", action="append", default=[])
parser.add_argument("--latency-ms", type=int, default=0)
parser.add_argument("--estate", action="store_true")
parser.add_argument("--organization", help="also create an organization; write its ids to this JSON file")
parser.add_argument("--organization-size", type=int, default=0,
                    help="with --organization: that many member accounts, all with the role audit (the benchmark's)")
args = parser.parse_args()

ACCOUNT_A = "123456789012"
ACCOUNT_B = "111111111111"
REGIONS = ["us-east-1", "eu-west-1"]
LOG = testserver.RequestLog(args.log)
FAULTS = testserver.Faults(args.fail)

S3_SUBRESOURCES = {
    "policy": "GetBucketPolicy",
    "acl": "GetBucketAcl", "policyStatus": "GetBucketPolicyStatus", "encryption": "GetBucketEncryption",
    "versioning": "GetBucketVersioning", "publicAccessBlock": "GetPublicAccessBlock", "location": "GetBucketLocation",
}
# The list element and its item tag, per paged operation (EC2 and query protocols).
PAGED_XML = {
    "DescribeInstances": ("reservationSet", "nextToken", "NextToken"),
    "DescribeVolumes": ("volumeSet", "nextToken", "NextToken"),
    "DescribeSecurityGroups": ("securityGroupInfo", "nextToken", "NextToken"),
    "DescribeSecurityGroupRules": ("securityGroupRuleSet", "nextToken", "NextToken"),
    "ListUsers": ("Users", "Marker", "Marker"),
    "DescribeDBInstances": ("DBInstances", "Marker", "Marker"),
    "DescribeVpcs": ("vpcSet", "nextToken", "NextToken"),
    "DescribeFlowLogs": ("flowLogSet", "nextToken", "NextToken"),
    "DescribeNetworkAcls": ("networkAclSet", "nextToken", "NextToken"),
    "ListServerCertificates": ("ServerCertificateMetadataList", "Marker", "Marker"),
}
# The REST operations of the JSON services, by signing name and path.
REST_JSON = {
    ("elasticfilesystem", "/2015-02-01/file-systems"): "DescribeFileSystems",
    ("access-analyzer", "/analyzer"): "ListAnalyzers",
    ("securityhub", "/accounts"): "DescribeHub",
}


def analyzers(account, region):
    """The recorded ListAnalyzers items of `account` in `region` (derived
    from the API reference's example answer)."""
    if region != "us-east-1":
        return []
    return [
        {"arn": f"arn:aws:access-analyzer:{region}:{account}:analyzer/{name}", "name": name, "type": kind,
         "status": "ACTIVE", "createdAt": "2026-11-02T10:00:00Z", "lastResourceAnalyzed": "",
         "lastResourceAnalyzedAt": "2026-11-02T10:05:00Z", "tags": {}}
        for name, kind in (("external-access", "ACCOUNT"), ("unused-access", "ACCOUNT_UNUSED_ACCESS"))
    ]


def credential_scope(headers):
    """The access key and region of the request's signature."""
    match = re.search(r"Credential=([^/]+)/\d+/([^/]+)/", headers.get("Authorization", ""))
    return (match.group(1), match.group(2)) if match else ("", "")


def service_of(headers):
    match = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return match.group(1) if match else ""


class Proxy(testserver.Handler):
    def handle_request(self):
        start = time.time()
        body = self.read_body()
        service = service_of(self.headers)
        op, form = self.operation(service, body)
        if args.latency_ms:
            time.sleep(args.latency_ms / 1000)
        try:
            fault = FAULTS.take(lambda key: key == op)
            if fault:
                status, _, code = fault.partition(":")
                self.error(service, int(status), code, op)
            else:
                self.forward(op, form, body)
        finally:
            LOG.append({"op": op, "service": service, "start": start, "end": time.time()})

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_request

    def operation(self, service, body):
        """The operation's name and, for query protocols, its form."""
        target = self.headers.get("X-Amz-Target")
        if target:
            return target.split(".")[-1], None
        if service in ("ec2", "iam", "rds", "sts") and body:
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            return (form.get("Action") or [""])[0], form
        url = urllib.parse.urlparse(self.path)
        rest = REST_JSON.get((service, url.path.rstrip("/")))
        if rest:
            return rest, None
        if url.path.startswith("/v20180820/configuration/publicAccessBlock"):
            return "GetAccountPublicAccessBlock", None
        if self.command == "GET" and url.path in ("", "/"):
            return "ListBuckets", None
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        for key, name in S3_SUBRESOURCES.items():
            if key in query:
                return name, None
        return f"S3{self.command}", None

    def error(self, service, status, code, op):
        message = f"Injected {code} for {op}"
        headers = [("Content-Type", "text/xml")]
        if self.headers.get("X-Amz-Target") or op in REST_JSON.values():
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amzn-ErrorType", code)]
        elif service == "ec2":
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                    f"<Message>{message}</Message></Error></Errors><RequestID>injected</RequestID></Response>").encode()
        elif service in ("iam", "rds", "sts"):
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    f"</Error><RequestId>injected</RequestId></ErrorResponse>").encode()
        else:
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>"
                    f"<RequestId>injected</RequestId></Error>").encode()
        self.send(status, body, headers=headers)

    def forward(self, op, form, body):
        if op == "ListAnalyzers":
            return self.list_analyzers()
        if op == "AssumeRole" and args.organization and not role_exists(form):
            return self.error("sts", 403, "AccessDenied", op)
        if op == "DescribeFileSystems" and args.page_size:
            # moto pages EFS itself, by MaxItems (default 10).
            self.path += ("&" if "?" in self.path else "?") + f"MaxItems={args.page_size}"
        if op == "ListAccounts" and args.page_size:
            request = json.loads(body or b"{}")
            request["MaxResults"] = args.page_size
            body = json.dumps(request).encode()
        start = 0
        paged = args.page_size and (op in PAGED_XML or op == "ListKeys")
        if paged and form is not None:
            token_param = PAGED_XML[op][2]
            start = int((form.pop(token_param, None) or ["0"])[0])
            form.pop("MaxResults", None)
            form.pop("MaxItems", None)
            form.pop("MaxRecords", None)
            body = urllib.parse.urlencode(form, doseq=True).encode()
        elif paged:
            request = json.loads(body or b"{}")
            start = int(request.pop("Marker", "0"))
            request.pop("Limit", None)
            body = json.dumps(request).encode()
        answer, data = self.upstream("127.0.0.1", args.moto_port, body, ("content-length", "connection"))
        if paged and answer.status == 200:
            data = self.page(op, data, start)
        if op == "GetBucketVersioning" and answer.status == 200:
            # moto names the root element after the operation; S3 (and the
            # SDK) call it VersioningConfiguration.
            data = data.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
        if op == "ListServerCertificates" and answer.status == 200:
            data = certificate_expirations(data)
        self.relay(answer, data, ("content-length", "connection", "transfer-encoding", "server", "date"))

    def list_analyzers(self):
        """ListAnalyzers from the recorded answer, paged by nextToken."""
        from moto.iam.models import get_account_id_from
        key, region = credential_scope(self.headers)
        items = analyzers(get_account_id_from(key), region)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        start = int((query.get("nextToken") or ["0"])[0])
        size = args.page_size or len(items) or 1
        answer = {"analyzers": items[start:start + size]}
        if start + size < len(items):
            answer["nextToken"] = str(start + size)
        self.send(200, json.dumps(answer).encode(), headers=[("Content-Type", "application/json")])

    def page(self, op, data, start):
        """The page of moto's whole answer that starts at item `start`."""
        size = args.page_size
        if op == "ListKeys":
            answer = json.loads(data)
            keys = answer.get("Keys", [])
            answer["Keys"] = keys[start:start + size]
            answer["Truncated"] = start + size < len(keys)
            answer.pop("NextMarker", None)
            if answer["Truncated"]:
                answer["NextMarker"] = str(start + size)
            return json.dumps(answer).encode()
        list_tag, token_tag, _ = PAGED_XML[op]
        namespace = re.match(rb"\s*(?:<\?xml[^>]*\?>)?\s*<[^ >]+ xmlns=\"([^\"]+)\"", data)
        ns = namespace.group(1).decode() if namespace else ""
        if ns:
            ET.register_namespace("", ns)
        q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
        root = ET.fromstring(data)
        holder = next(root.iter(q(list_tag)))
        parent = next(p for p in root.iter() if holder in list(p))
        items = list(holder)
        for item in items:
            holder.remove(item)
        for item in items[start:start + size]:
            holder.append(item)
        for old in parent.findall(q(token_tag)):
            parent.remove(old)
        more = start + size < len(items)
        if token_tag == "Marker":
            truncated = parent.find(q("IsTruncated"))
            if truncated is not None:
                truncated.text = "true" if more else "false"
        if more:
            token = ET.SubElement(parent, q(token_tag))
            token.text = str(start + size)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def role_exists(form):
    """Whether the role of an AssumeRole form exists, for roles named
    `audit` (the organization's; others are taken as they are)."""
    from moto.iam.models import iam_backends
    arn = (form.get("RoleArn") or [""])[0]
    match = re.match(r"arn:aws:iam::(\d{12}):role/(.+)$", arn)
    if not match or match.group(2) != "audit":
        return True
    account, name = match.groups()
    return any(role.name == name for role in iam_backends[account]["global"].roles.values())


def create_organization(endpoint, path):
    """Account A manages an organization of member-ok (with the role
    `audit`, as A has), member-norole (without it) and member-suspended
    (closed); the first two in the OU `workloads`. Writes {root, ou,
    accounts: {name: id}} to `path`."""
    import boto3
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    org = boto3.client("organizations", region_name="us-east-1", endpoint_url=endpoint, **credentials)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    ids = {}
    for name in ("member-ok", "member-norole", "member-suspended"):
        ids[name] = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
    for name in ("member-ok", "member-norole"):
        org.move_account(AccountId=ids[name], SourceParentId=root, DestinationParentId=ou)
    org.close_account(AccountId=ids["member-suspended"])
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}, "Action": "sts:AssumeRole"}]})
    for account in (ACCOUNT_A, ids["member-ok"]):
        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, **credentials)
        if account != ACCOUNT_A:
            sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint, **credentials)
            role = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup")["Credentials"]
            iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint,
                               aws_access_key_id=role["AccessKeyId"], aws_secret_access_key=role["SecretAccessKey"],
                               aws_session_token=role["SessionToken"])
        iam.create_role(RoleName="audit", AssumeRolePolicyDocument=trust)
    with open(path, "w") as out:
        json.dump({"root": root, "ou": ou, "accounts": ids}, out)


def create_large_organization(endpoint, path, size):
    """Account A manages an organization of `size` member accounts, each
    with the role `audit` and nothing else (moto's defaults: a default VPC,
    its security group and network ACL in every region). Writes {accounts:
    {name: id}} to `path`."""
    import boto3
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    org = boto3.client("organizations", region_name="us-east-1", endpoint_url=endpoint, **credentials)
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint, **credentials)
    org.create_organization(FeatureSet="ALL")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}, "Action": "sts:AssumeRole"}]})
    ids = {}
    for index in range(size):
        name = f"member-{index}"
        ids[name] = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        role = sts.assume_role(RoleArn=f"arn:aws:iam::{ids[name]}:role/setup", RoleSessionName="setup")["Credentials"]
        boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=role["AccessKeyId"],
                     aws_secret_access_key=role["SecretAccessKey"], aws_session_token=role["SessionToken"]
                     ).create_role(RoleName="audit", AssumeRolePolicyDocument=trust)
    with open(path, "w") as out:
        json.dump({"accounts": ids}, out)


def certificate_expirations(data):
    """moto's ListServerCertificates answer with each certificate's own
    notAfter as its Expiration."""
    from cryptography import x509
    from moto.iam.models import iam_backends
    bodies = {}
    for account in list(iam_backends.values()):
        for cert in account["global"].certificates.values():
            bodies[cert.arn] = cert.cert_body
    namespace = re.match(rb"\s*(?:<\?xml[^>]*\?>)?\s*<[^ >]+ xmlns=\"([^\"]+)\"", data)
    if namespace:
        ET.register_namespace("", namespace.group(1).decode())
    root = ET.fromstring(data)
    for member in root.iter():
        arn, expiration = member.find("{*}Arn"), member.find("{*}Expiration")
        if arn is None or expiration is None or arn.text not in bodies:
            continue
        not_after = x509.load_pem_x509_certificate(bodies[arn.text].encode()).not_valid_after_utc
        expiration.text = not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def certificate(name, days):
    """A self-signed certificate for `name` (PEM) that expires in `days`
    days (in the past when negative), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def create_estate(endpoint):
    """Account A (123456789012) has a problem of every kind in both regions;
    account B (111111111111) is the compliant twin of its account-wide
    settings."""
    import boto3
    from moto.iam.models import iam_backends

    def client(service, region="us-east-1", account=ACCOUNT_A):
        credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if account != ACCOUNT_A:
            sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, **credentials)
            role = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup")["Credentials"]
            credentials = {"aws_access_key_id": role["AccessKeyId"], "aws_secret_access_key": role["SecretAccessKey"],
                           "aws_session_token": role["SessionToken"]}
        return boto3.client(service, region_name=region, endpoint_url=endpoint, **credentials)

    for region in REGIONS:
        ec2 = client("ec2", region)
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=3, MaxCount=3)
        rules = {
            "open-ssh": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            "open-rdp-v6": [{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
            "restricted-ssh": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        }
        for name, permissions in rules.items():
            group = ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions)
        for encrypted in (False, True, True):
            ec2.create_volume(AvailabilityZone=f"{region}a", Size=1, Encrypted=encrypted)
        rds = client("rds", region)
        for name, public, encrypted in (("db-open", True, False), ("db-closed", False, True)):
            rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                                   MasterUsername="admin1", MasterUserPassword="password123", AllocatedStorage=20,
                                   PubliclyAccessible=public, StorageEncrypted=encrypted)
        kms = client("kms", region)
        kms.create_key(Description="not rotated")
        rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=rotated)

    s3 = client("s3")
    s3.create_bucket(Bucket="public-by-acl")
    s3.put_bucket_acl(Bucket="public-by-acl", ACL="public-read")
    eu = client("s3", "eu-west-1")
    eu.create_bucket(Bucket="public-by-policy", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_policy(Bucket="public-by-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-by-policy/*"}]}))
    s3.create_bucket(Bucket="saved-by-block")
    s3.put_bucket_acl(Bucket="saved-by-block", ACL="public-read")
    s3.put_public_access_block(Bucket="saved-by-block", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.create_bucket(Bucket="private-versioned")
    s3.put_bucket_versioning(Bucket="private-versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket="private-versioned", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    iam = client("iam")
    for name in ("alice", "bob", "carol", "service"):
        iam.create_user(UserName=name)
    for name in ("alice", "bob"):
        iam.create_login_profile(UserName=name, Password="Password-123456")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="bob", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_access_key(UserName="service")
    iam.create_access_key(UserName="carol")
    # An access key created 200 days ago (the API dates keys now).
    old = iam_backends[ACCOUNT_A]["global"].users["service"].access_keys[0]
    old.create_date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=200)
    # Root user facts no API can set: account A's root has access keys and
    # no MFA; account B's root has MFA.
    iam_backends[ACCOUNT_A]["global"].account_summary._account_access_keys_present = 1
    iam_backends[ACCOUNT_B]["global"].account_summary._account_mfa_enabled = 1

    b_iam = client("iam", account=ACCOUNT_B)
    b_iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24, RequireSymbols=True)
    iam.update_account_password_policy(MinimumPasswordLength=8)
    b_s3 = client("s3", account=ACCOUNT_B)
    b_s3.create_bucket(Bucket="b-trail-logs")
    trail = client("cloudtrail", "eu-west-1", account=ACCOUNT_B)
    trail.create_trail(Name="everywhere", S3BucketName="b-trail-logs", IsMultiRegionTrail=True)
    trail.start_logging(Name="everywhere")
    s3.create_bucket(Bucket="a-trail-logs")
    a_trail = client("cloudtrail")
    a_trail.create_trail(Name="one-region", S3BucketName="a-trail-logs", IsMultiRegionTrail=False)
    a_trail.start_logging(Name="one-region")
    create_cis_estate(client, s3, iam, trail, b_iam)


def create_cis_estate(client, s3, iam, b_trail, b_iam):
    """The resources of the CIS AWS 7.0.0 rules: in account A a failing
    resource and its compliant twin of each kind (the regional settings on
    in us-east-1, off in eu-west-1); account B is the compliant twin of the
    account-wide ones (S3 data events logged, a support role)."""
    from moto.iam.models import iam_backends
    ec2 = client("ec2")
    # A VPC whose flow log records rejected traffic, with a network ACL
    # that allows only HTTPS from anywhere and SSH from 10.0.0.0/8, and a
    # default security group emptied of its rules.
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="REJECT", LogDestinationType="s3",
                         LogDestination="arn:aws:s3:::a-trail-logs")
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=110, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="10.0.0.0/8", PortRange={"From": 22, "To": 22})
    default_group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                          {"Name": "group-name", "Values": ["default"]}])
    group = default_group["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    ec2.enable_ebs_encryption_by_default()

    # RDS: db-closed keeps minor upgrades on (the default).
    for region in REGIONS:
        client("rds", region).modify_db_instance(DBInstanceIdentifier="db-open", AutoMinorVersionUpgrade=False,
                                                 ApplyImmediately=True)

    # S3: one bucket policy denies plain HTTP.
    s3.put_bucket_policy(Bucket="private-versioned", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::private-versioned", "arn:aws:s3:::private-versioned/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))

    # AWS Config records everything in us-east-1; EFS has an encrypted and
    # a plain file system there; Security Hub is on there.
    config = client("config")
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{ACCOUNT_A}:role/config",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "a-trail-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    efs = client("efs")
    efs.create_file_system(CreationToken="plain", Encrypted=False)
    efs.create_file_system(CreationToken="secret", Encrypted=True)
    client("securityhub").enable_security_hub()

    # IAM: a customer policy granting everything, attached to a group, and
    # a narrow one attached to carol directly; two server certificates,
    # one expired; alice's password last used 100 days ago.
    admin = iam.create_policy(PolicyName="full-admin", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
    narrow = iam.create_policy(PolicyName="s3-read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="carol", PolicyArn=narrow)
    for name, days in (("expired-site", -30), ("site", 300)):
        body, key = certificate(name, days)
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key)
    users = iam_backends[ACCOUNT_A]["global"].users
    users["alice"].password_last_used = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=100)

    # Account B: a support role; its multi-region trail records S3 object
    # reads and writes (advanced selectors); A's one-region trail records
    # them too (basic selectors), but is not multi-region. moto loads AWS's
    # managed policies only when asked to (all of them, slowly): the one
    # used here is added from moto's copy, as every real account has it.
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy
    data = json.loads(aws_managed_policies_data)["AWSSupportAccess"]
    for account in (ACCOUNT_A, ACCOUNT_B):
        backend = iam_backends[account]["global"]
        policy = AWSManagedPolicy.from_data("AWSSupportAccess", account, "us-east-1", data)
        backend.managed_policies[policy.arn] = policy
    b_iam.create_role(RoleName="support", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}, "Action": "sts:AssumeRole"}]}))
    b_iam.attach_role_policy(RoleName="support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    b_trail.put_event_selectors(TrailName="everywhere", AdvancedEventSelectors=[{"Name": "s3", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}])
    client("cloudtrail").put_event_selectors(TrailName="one-region", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])


logging.getLogger("werkzeug").setLevel(logging.ERROR)
moto = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
moto.start()
if args.estate:
    create_estate(f"http://127.0.0.1:{args.moto_port}")
if args.organization and args.organization_size:
    create_large_organization(f"http://127.0.0.1:{args.moto_port}", args.organization, args.organization_size)
elif args.organization:
    create_organization(f"http://127.0.0.1:{args.moto_port}", args.organization)
testserver.serve(Proxy, args, announce=str(args.port), stop=[moto.stop])
