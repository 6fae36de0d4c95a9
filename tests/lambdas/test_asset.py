"""The function's code as Lambda loads it: the asset folder's modules at the top level."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lambdas.trigger.batch_ids import batch_id_for
from stacks.trigger import TRIGGER_CODE_DIR

PROBE = """
import sys
sys.modules["lambdas"] = None  # no project package in the Lambda runtime
import handler
event = {"detail-type": "Object Created", "source": "aws.s3", "time": "2026-11-28T19:13:05Z",
         "detail": {"bucket": {"name": "landing"}, "object": {"key": "incoming/c++.csv"}}}
[obj] = handler.parse_event(event).objects
batch, _ = handler.batch_of(obj, handler.SETTINGS)
print(batch.batch_id, batch.batch_prefix)
"""


def test_handler_imports_from_the_asset_folder_alone(tmp_path: Path) -> None:
    asset = tmp_path / "asset"
    shutil.copytree(TRIGGER_CODE_DIR, asset, ignore=shutil.ignore_patterns("rerun.py", "__*"))
    environment = {
        **os.environ,
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:etl",
        "LANDING_BUCKET": "landing",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=asset,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [batch_id_for("c++.csv-2026-11-28"), "incoming/c++.csv"]
