"""``make rehearse``: deploy a stage into the local emulator, drive it, destroy it, summarize.

1. Start the emulator (:mod:`rehearsal.emulator`); ``cdk bootstrap``, then ``cdk deploy
   --require-approval never`` with the project's pinned CDK CLI: synth with an account and
   region, asset publishing and custom resources, as a real deploy.
2. Upload a batch to the deployed landing bucket (:mod:`rehearsal.upload_path`): the deployed
   rule must invoke the deployed Lambda, which starts exactly one execution; a second version
   joins the gating batch, a second delivery of the first version and the marker start nothing.
3. Drive the deployed state machine through each Glue outcome (:mod:`rehearsal.outcomes`);
   each must end in its state and publish its message to the deployed alert topic.
4. ``cdk destroy``, then look for anything of the stage left in the emulator.

Exit status 0 when every check passed, 1 otherwise; the summary lists each check, the
emulator gaps bridged, and what the emulator cannot show.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rehearsal.emulator import (
    ACCOUNT_ID,
    REGION,
    WAIT_SCALE,
    Emulator,
    node_bin,
    running_emulator,
)
from rehearsal.emulator_gaps import GAPS, NOT_BRIDGED, PROJECT_ROOT
from rehearsal.leftovers import stage_leftovers
from rehearsal.outcomes import AlertInbox, Report, check_glue_outcomes
from rehearsal.upload_path import check_upload_path

WORKDIR = PROJECT_ROOT / ".rehearsal"
CDK = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
CDK_STEP_TIMEOUT_SECONDS = 300


def cdk(emulator: Emulator, *args: str) -> None:
    """Run the project's pinned CDK CLI against the emulator; raise with its output on failure."""
    command = [str(CDK), *args, "--output", str(WORKDIR / "cdk.out"), "--no-notices"]
    env = emulator.cli_environment(os.environ)
    node = node_bin()  # the CDK CLI needs Node >= 22, as in the Makefile
    if node is not None:
        env["PATH"] = os.pathsep.join([str(node), env.get("PATH", "")])
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 (the project's pinned CDK CLI, fixed arguments)
        command,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CDK_STEP_TIMEOUT_SECONDS,
        check=False,
    )
    (WORKDIR / f"cdk-{args[0]}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise RuntimeError(f"cdk {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    print(f"  cdk {args[0]:<9} ok in {time.monotonic() - started:5.1f} s", flush=True)


def save_function_logs(emulator: Emulator, stage: str, path: Path) -> None:
    """Keep what the stage's Lambda functions logged in the emulator (gone once it stops)."""
    logs = emulator.client("logs")
    lines: list[str] = []
    try:
        for function in emulator.client("lambda").list_functions()["Functions"]:
            if not function["FunctionName"].startswith(f"EtlPipeline-{stage}-"):
                continue
            name = function.get("LoggingConfig", {}).get("LogGroup") or (
                f"/aws/lambda/{function['FunctionName']}"
            )
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=name):
                lines += [f"{name} {event['message']}" for event in page["events"]]
    except Exception as error:  # an artifact only: never fail the rehearsal over it
        lines.append(f"could not read the log groups: {type(error).__name__}: {error}")
    path.write_text("\n".join(lines) + "\n")


def rehearse(stage: str) -> Report:
    """The whole rehearsal of ``stage``; every check lands in the returned report."""
    report = Report()
    stack = f"EtlPipeline-{stage}"
    with running_emulator(WORKDIR) as emulator:
        print(f"  emulator  pid {emulator.pid} on {emulator.endpoint}", flush=True)
        context = ["-c", f"stage={stage}"]
        cdk(emulator, "bootstrap", f"aws://{ACCOUNT_ID}/{REGION}", *context)
        outputs_file = WORKDIR / "outputs.json"
        deployed = False
        try:
            cdk(
                emulator,
                "deploy",
                stack,
                *context,
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
            )
            deployed = True
            report.check("deploy", True, f"{stack} deployed (bootstrap, assets, custom resources)")
            outputs = json.loads(outputs_file.read_text())[stack]
            inbox = AlertInbox(emulator, outputs["AlertsTopicArn"])
            try:
                upload_input = check_upload_path(emulator, outputs, inbox, report)
                check_glue_outcomes(emulator, outputs, inbox, report, upload_input, stage=stage)
            finally:
                inbox.delete()
        except Exception as error:
            report.check("rehearsal", False, f"{type(error).__name__}: {error}")
        finally:
            if deployed:
                save_function_logs(emulator, stage, WORKDIR / "lambda-logs.txt")
            try:
                cdk(emulator, "destroy", stack, *context, "--force")
                left = stage_leftovers(emulator, stage)
                report.check(
                    "destroy",
                    not left,
                    "nothing of the stage is left"
                    if not left
                    else "left behind: " + "; ".join(left),
                )
            except Exception as error:
                report.check("destroy", False, f"{type(error).__name__}: {error}")
            if not deployed:
                report.check("deploy", False, f"see {WORKDIR / 'cdk-deploy.log'}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="stage of cdk.json to rehearse")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"Deploy rehearsal of stage {args.stage} in a local AWS emulator (ministack)")
    try:
        report = rehearse(args.stage)
    except Exception as error:  # emulator start or bootstrap failed: still a summary
        report = Report()
        report.check("rehearsal", False, f"{type(error).__name__}: {error}")
    elapsed = time.monotonic() - started
    print(report.summary(elapsed=elapsed, gaps=GAPS, not_bridged=NOT_BRIDGED, scale=WAIT_SCALE))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
