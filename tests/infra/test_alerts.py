"""One notification path: every alarm and the Glue failure rule publish to the encrypted topic."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Capture, Match, Template

from tests.infra.conftest import SYNTH_ONLY_EMAIL

EXPECTED_ALARM_METRICS = {
    ("AWS/States", "ExecutionsFailed"),
    ("AWS/States", "ExecutionsTimedOut"),
    ("AWS/States", "ExecutionsAborted"),
    ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "Throttles"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
}


def _topic_id(template: Template) -> str:
    topics = template.find_resources("AWS::SNS::Topic")
    assert len(topics) == 1, "one notification path: exactly one topic"
    return next(iter(topics))


def test_topic_is_encrypted_with_its_own_customer_managed_key(dev_template: Template) -> None:
    key = Capture()
    dev_template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
    )
    assert key.as_string().startswith("AlertsAlertsKey")
    dev_template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Principal": {
                                    "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_topic_policy_allows_alarms_and_rules_and_denies_plain_http(
    dev_template: Template,
) -> None:
    dev_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {
                                    "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_email_subscription_only_where_the_stage_names_an_address(
    dev_template: Template, prod_template: Template
) -> None:
    dev_template.resource_count_is("AWS::SNS::Subscription", 0)
    # cdk.json names no prod address yet: synth and tests stand in one on .invalid.
    prod_template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": SYNTH_ONLY_EMAIL},
    )


def test_every_failure_alarm_exists_and_acts_on_the_topic(dev_template: Template) -> None:
    topic = _topic_id(dev_template)
    alarms = dev_template.find_resources("AWS::CloudWatch::Alarm")
    seen = set()
    for logical_id, alarm in alarms.items():
        props: dict[str, Any] = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic}], logical_id
        assert props["TreatMissingData"] == "notBreaching", logical_id
        assert props["Threshold"] == 1
        seen.add((props["Namespace"], props["MetricName"]))
    assert seen == EXPECTED_ALARM_METRICS


def test_glue_failures_reach_the_topic_as_a_readable_message(dev_template: Template) -> None:
    template_text = Capture()
    dev_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.glue"],
                "detail-type": ["Glue Job State Change"],
                "detail": {
                    "jobName": [{"Ref": Match.string_like_regexp("^GlueJob")}],
                    "state": ["FAILED", "TIMEOUT", "ERROR"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Ref": _topic_id(dev_template)},
                        "InputTransformer": {
                            "InputPathsMap": Match.object_like(
                                {
                                    "detail-jobName": "$.detail.jobName",
                                    "detail-message": "$.detail.message",
                                }
                            ),
                            "InputTemplate": template_text,
                        },
                    }
                )
            ],
        },
    )
    assert "<detail-jobName>" in template_text.as_string()
    assert "<detail-state>" in template_text.as_string()


def test_dashboard_shows_the_pipeline(dev_template: Template) -> None:
    dashboards = dev_template.find_resources("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = str(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    for metric in (
        "ExecutionsFailed",
        "Invocations",
        "ApproximateNumberOfMessagesVisible",
        "glue.driver.aggregate.numFailedTasks",
        "ExecutionsStarted",
    ):
        assert metric in body, metric
