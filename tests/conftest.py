"""Suite-wide safety: no test can reach real AWS."""

from __future__ import annotations

import os

# Set before any boto3 client exists: fake credentials and a region, so a test that forgot a mock
# fails on moto's side or with an auth error instead of touching a real account.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
