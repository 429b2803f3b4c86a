"""AWS for the awscloud tests: moto's server (in this process) with a proxy in
front of it that pages lists and injects faults, and the test estate created
through the AWS APIs.

- moto serves EC2, S3 (and S3 Control), IAM, STS, RDS, KMS and CloudTrail for
  any account: credentials from STS AssumeRole act in the role's account.
- The proxy forwards every request to moto and logs it to --log as a JSON
  line (op, start, end). `--page-size N` pages the lists moto answers whole
  (EC2 DescribeInstances, DescribeVolumes, DescribeSecurityGroups,
  DescribeSecurityGroupRules; IAM ListUsers; RDS DescribeDBInstances; KMS
  ListKeys) with each protocol's own tokens. `--fail OP=STATUS:CODE[xN]`
  answers the operation OP (N times, default always) with STATUS and the
  service's error body for CODE (EC2, query, JSON or S3 XML).
- moto 5.2.5 answers GetBucketVersioning with a root element named after the
  operation; the proxy renames it VersioningConfiguration, as S3 sends it.
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
args = parser.parse_args()

ACCOUNT_A = "123456789012"
ACCOUNT_B = "111111111111"
REGIONS = ["us-east-1", "eu-west-1"]
LOG = testserver.RequestLog(args.log)
FAULTS = testserver.Faults(args.fail)

S3_SUBRESOURCES = {
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
}


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
        if self.headers.get("X-Amz-Target"):
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
        self.relay(answer, data, ("content-length", "connection", "transfer-encoding", "server", "date"))

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


logging.getLogger("werkzeug").setLevel(logging.ERROR)
moto = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
moto.start()
if args.estate:
    create_estate(f"http://127.0.0.1:{args.moto_port}")
testserver.serve(Proxy, args, announce=str(args.port), stop=[moto.stop])
