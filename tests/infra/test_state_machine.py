"""State machine resource: standard type, logging, tracing, total timeout."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import CDK_CONTEXT, resources_of_type


def test_state_machine_is_standard_with_full_logging_and_tracing(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [
                    {
                        "CloudWatchLogsLogGroup": {
                            "LogGroupArn": {
                                "Fn::GetAtt": [Match.string_like_regexp("^WorkflowLogGroup"), "Arn"]
                            }
                        }
                    }
                ],
            },
        },
    )


def test_total_timeout_comes_from_the_stage_config(templates: dict[str, dict[str, Any]]) -> None:
    for stage, template in templates.items():
        (machine,) = resources_of_type(template, "AWS::StepFunctions::StateMachine").values()
        parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
        text = "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
        minutes = CDK_CONTEXT["stages"][stage]["workflow"]["execution_timeout_minutes"]
        assert f'"TimeoutSeconds":{minutes * 60}' in text.replace(" ", ""), stage


def test_log_group_is_named_under_vendedlogs_and_unique_per_stack(
    templates: dict[str, dict[str, Any]],
) -> None:
    """Step Functions wants /aws/vendedlogs/ (resource-policy size limit); the stack id's
    suffix lets a stage be deployed again next to the group a destroyed one retained."""
    for stage, template in templates.items():
        (machine,) = resources_of_type(template, "AWS::StepFunctions::StateMachine").values()
        destination = machine["Properties"]["LoggingConfiguration"]["Destinations"][0]
        log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        name = template["Resources"][log_group_id]["Properties"]["LogGroupName"]
        assert name == {
            "Fn::Join": [
                "",
                [
                    f"/aws/vendedlogs/states/EtlPipeline-{stage}-",
                    {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
                ],
            ]
        }, stage
