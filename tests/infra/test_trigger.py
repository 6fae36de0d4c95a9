"""Trigger: EventBridge rule on the landing prefix, the function's settings, its DLQ and logs."""

from __future__ import annotations

from aws_cdk.assertions import Capture, Match, Template


def test_upload_rule_matches_object_created_under_the_landing_prefix(
    dev_template: Template,
) -> None:
    target = Capture()
    dev_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {
                        "name": [{"Ref": Match.string_like_regexp("^StorageLandingBucket")}]
                    },
                    "object": {"key": [{"prefix": "incoming/"}]},
                },
            },
            "State": "ENABLED",
            "Targets": [
                {
                    "Arn": {"Fn::GetAtt": [target, "Arn"]},
                    "DeadLetterConfig": {
                        "Arn": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("^TriggerDeadLetterQueue"),
                                "Arn",
                            ]
                        }
                    },
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 8}),
                    "Id": Match.any_value(),
                }
            ],
        },
    )
    assert target.as_string().startswith("TriggerFunction")
    dev_template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "FunctionName": {"Fn::GetAtt": [target.as_string(), "Arn"]},
        },
    )


def test_function_runs_the_handler_with_its_settings_and_tracing(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.lambda_handler",
            "Runtime": Match.string_like_regexp(r"^python3\.1[2-9]$"),
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("^TriggerLogGroup")}},
            "Environment": {
                "Variables": {
                    "STATE_MACHINE_ARN": {"Ref": Match.string_like_regexp("^WorkflowStateMachine")},
                    "LANDING_BUCKET": {"Ref": Match.string_like_regexp("^StorageLandingBucket")},
                    "ALERT_TOPIC_ARN": {"Ref": Match.string_like_regexp("^AlertsAlertsTopic")},
                    "LANDING_PREFIX": "incoming/",
                    "COMPLETION_MARKER": "_SUCCESS",
                    "BATCH_ID_MODE": "file_arrival_date",
                    "METRICS_NAMESPACE": "EtlPipeline",
                    "STAGE": "dev",
                }
            },
        },
    )


def test_no_stage_reserves_concurrency_so_small_accounts_can_deploy(
    dev_template: Template, prod_template: Template
) -> None:
    """Lambda refuses a reservation that leaves fewer than 100 executions unreserved."""
    for template in (dev_template, prod_template):
        (function,) = template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"Handler": "handler.lambda_handler"}}
        ).values()
        assert "ReservedConcurrentExecutions" not in function["Properties"]


def test_failed_async_invocations_go_to_the_encrypted_dead_letter_queue(
    dev_template: Template,
) -> None:
    dev_template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {
                        "Fn::GetAtt": [Match.string_like_regexp("^TriggerDeadLetterQueue"), "Arn"]
                    }
                }
            },
        },
    )
    dev_template.has_resource_properties(
        "AWS::SQS::Queue",
        {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600},
    )
    dev_template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_function_log_group_has_stage_retention(
    dev_template: Template, prod_template: Template
) -> None:
    dev_template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 14}, "DeletionPolicy": "Delete"},
    )
    prod_template.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 365}, "DeletionPolicy": "Retain"},
    )


def test_function_may_start_executions_of_the_workflow_only(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^TriggerRole")}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "states:StartExecution",
                            "Effect": "Allow",
                            "Resource": {"Ref": Match.string_like_regexp("^WorkflowStateMachine")},
                        }
                    ]
                )
            },
        },
    )


def test_function_may_read_executions_of_the_workflow_only_and_publish_alerts(
    dev_template: Template,
) -> None:
    machine = Capture()
    dev_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("^TriggerRole")}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["states:DescribeExecution", "states:GetExecutionHistory"],
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    Match.array_with(
                                        [
                                            ":execution:",
                                            {
                                                "Fn::Select": [
                                                    6,
                                                    {"Fn::Split": [":", {"Ref": machine}]},
                                                ]
                                            },
                                            ":*",
                                        ]
                                    ),
                                ]
                            },
                        },
                        {
                            "Action": "sns:Publish",
                            "Effect": "Allow",
                            "Resource": {"Ref": Match.string_like_regexp("^AlertsAlertsTopic")},
                        },
                    ]
                )
            },
        },
    )
    assert machine.as_string().startswith("WorkflowStateMachine")
