"""Prints a saved email as JSON: headers, the plain-text body and attachments."""

import email
import email.policy
import json
import sys

with open(sys.argv[1], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)

body = message.get_body(preferencelist=("plain",))
print(json.dumps({
    "subject": message["subject"],
    "from": message["from"],
    "to": message["to"],
    "text": body.get_content() if body else None,
    "attachments": {
        part.get_filename(): part.get_content() if isinstance(part.get_content(), str)
        else part.get_content().decode()
        for part in message.iter_attachments()
    },
}))
