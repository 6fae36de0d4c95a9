"""Suite-wide: no test can reach real AWS; which tests share an xdist worker."""

from __future__ import annotations

import os

import pytest

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

# Under pytest-xdist (make test runs two workers), a folder whose tests share an expensive
# session fixture runs on one worker, so the fixture is built once: the CDK synths of infra/ and
# workflow/ take most of their folder's time. Other tests (each Spark worker starts its own
# local session) spread over both workers.
_ONE_WORKER_FOLDERS = ("infra", "workflow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(item.config.rootpath).parts
        if len(parts) > 2 and parts[0] == "tests" and parts[1] in _ONE_WORKER_FOLDERS:
            item.add_marker(pytest.mark.xdist_group(parts[1]))
