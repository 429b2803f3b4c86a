"""Validates OCSF Detection Findings (one JSON object per line) with
py-ocsf-models, the pydantic models of the OCSF schema (version 1.5.0)
that Prowler publishes: every line must parse as a DetectionFinding, with
class 2004 and type_uid = class_uid * 100 + activity_id.

Usage: validate_ocsf.py FILE. Prints `OK <n>` or each problem; exit 1 on
any problem.
"""

import json
import sys

from py_ocsf_models.events.findings.detection_finding import DetectionFinding

problems = []
count = 0
with open(sys.argv[1]) as lines:
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
            finding = DetectionFinding.model_validate(data)
        except Exception as error:  # pydantic's ValidationError, or not JSON
            problems.append(f"line {number}: {error}")
            continue
        count += 1
        if finding.class_uid != 2004 or data["type_uid"] != 2004 * 100 + data["activity_id"]:
            problems.append(f"line {number}: class_uid {finding.class_uid}, type_uid {data['type_uid']}")
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
print(f"OK {count}")
