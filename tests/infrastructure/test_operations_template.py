"""template.yaml's operations: every alarm pages through the one composite alarm, with its threshold
explained (in the template and README's table); GBC alarms watch metrics the code emits; each function
logs to its own log group with retention; the API's and the WebSocket's access logs are JSON; the
scheduled functions keep what failed; API-facing timeouts end before API Gateway's 29 s; stateful
resources survive a stack delete."""

from __future__ import annotations

import json
import re

from devstack.template import load_raw, load_stack
from tests.conftest import ROOT

RAW = load_raw()
STACK = load_stack()
RESOURCES = RAW["Resources"]
TEXT = (ROOT / "template.yaml").read_text()
README = (ROOT / "README.md").read_text()


def _of_type(kind: str) -> dict[str, dict]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


ALARMS = _of_type("AWS::CloudWatch::Alarm")
FUNCTIONS = _of_type("AWS::Serverless::Function")
PAGE = RESOURCES["PageAlarm"]


def _refs(value: object) -> set[str]:
    """Every ${Name} and Ref inside a value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= set(re.findall(r"\$\{([\w.]+)\}", text))
            found |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs(inner)
    return found


def test_every_alarm_pages_through_the_composite_alarm_and_none_on_its_own():
    rule = PAGE["Properties"]["AlarmRule"]
    assert set(ALARMS) <= _refs(rule)
    topic = {"Ref": "AlarmTopic"}
    assert PAGE["Properties"]["AlarmActions"] == [topic] and PAGE["Properties"]["OKActions"] == [topic]
    for name, alarm in ALARMS.items():
        assert not {"AlarmActions", "OKActions", "InsufficientDataActions"} & set(alarm["Properties"]), name
    # A conditional alarm is named only where its condition holds (else the rule names a missing alarm).
    conditional = {name for name, alarm in ALARMS.items() if "Condition" in alarm}
    branches = [part for part in rule["Fn::Join"][1] if isinstance(part, dict) and "Fn::If" in part]
    assert conditional == {ref for b in branches for ref in _refs(b["Fn::If"][1])}
    assert all(b["Fn::If"][0] == "PollsChain" for b in branches)


def test_the_email_subscription_is_made_only_for_an_address():
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"
    assert RAW["Parameters"]["AlarmEmail"]["Default"] == ""
    assert RAW["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_the_alarms_cover_what_the_issue_pages_on():
    paged_functions = set(FUNCTIONS) - {"MigrationsFunction"}  # runs in a deploy, which fails loudly itself
    for fn in paged_functions:
        for kind in ("Errors", "Throttles"):
            props = ALARMS[f"{fn}{kind}Alarm"]["Properties"]
            assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", kind)
            assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
    dlq_alarms = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in ALARMS.values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert dlq_alarms == {"JobsDLQ", "PriorityDLQ", "EventsDLQ"}
    aged = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in ALARMS.values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
    }
    assert aged == {"JobsQueue", "PriorityQueue", "EventsQueue"}
    api = {
        a["Properties"].get("MetricName") or "5xx rate" for a in ALARMS.values() if "AWS/ApiGateway" in json.dumps(a)
    }
    assert api == {"5xx rate", "Latency"}
    own = {a["Properties"]["MetricName"] for a in ALARMS.values() if a["Properties"].get("Namespace") == "GBC"}
    assert own == {
        "OutboxOldestAge",
        "ChainBlocksBehind",
        "ChainPollerRuns",
        "ChainReorgShortfall",
        "WithdrawalPaidAfterRefund",
    }
    # A poller that stops reporting has missed its runs; a sweep that stops has left the outbox alone.
    assert ALARMS["ChainPollerMissedRunsAlarm"]["Properties"]["TreatMissingData"] == "breaching"
    assert ALARMS["OutboxAgeAlarm"]["Properties"]["TreatMissingData"] == "breaching"


def _emitted_metric_names() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "layers/common/gbc").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        source = path.read_text()
        names |= set(re.findall(r'add_metric\(\s*name="(\w+)"', source))
        for call in re.findall(r"count_after_commit\(([^)]*)\)", source):
            names |= set(re.findall(r"(\w+)=", call))
    return names


def test_the_gbc_alarms_watch_metrics_the_code_emits_in_its_namespace():
    emitted = _emitted_metric_names()
    env = RAW["Globals"]["Function"]["Environment"]["Variables"]
    for name, alarm in ALARMS.items():
        props = alarm["Properties"]
        if props.get("Namespace") == "GBC":
            assert props["MetricName"] in emitted, name
            assert props["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
            assert env["POWERTOOLS_METRICS_NAMESPACE"] == "GBC"


def test_every_threshold_says_why_and_readme_lists_every_alarm():
    lines = TEXT.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s+Threshold:", line):
            assert "#" in line or lines[i - 1].strip().startswith("#"), f"line {i + 1}: a threshold without its reason"
    section = README.split("## Operations: alarms and logs", 1)[1].split("\n## ", 1)[0]
    for name in [*ALARMS, "PageAlarm"]:
        assert f"`{name}`" in section, f"README's operations table does not list {name}"


def test_every_function_logs_to_its_own_group_with_retention():
    groups = set()
    for name, fn in FUNCTIONS.items():
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        resource = RESOURCES[group]
        assert resource["Type"] == "AWS::Logs::LogGroup", name
        assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert resource["DeletionPolicy"] == "Retain", name
        groups.add(group)
    assert len(groups) == len(FUNCTIONS)


def _access_log_format(setting: dict) -> dict:
    fields = json.loads(setting["Format"])  # one JSON object a line: what Logs Insights parses
    assert setting["DestinationArn"]["Fn::GetAtt"][1] == "Arn"
    assert RESOURCES[setting["DestinationArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    return fields


def test_the_api_and_the_websocket_write_json_access_logs():
    rest = _access_log_format(RESOURCES["Api"]["Properties"]["AccessLogSetting"])
    assert {"requestId", "ip", "httpMethod", "resourcePath", "status", "latency", "userAgent"} <= set(rest)
    assert rest["latency"] == "$context.responseLatency"
    ws = _access_log_format(RESOURCES["RealtimeStage"]["Properties"]["AccessLogSettings"])
    assert {"requestId", "ip", "routeKey", "status", "connectionId"} <= set(ws)
    assert "Authorization" not in json.dumps([rest, ws])  # no token in a log
    # API Gateway logs through the region's role: it must be set before the stages are.
    assert RESOURCES["Api"]["DependsOn"] == "ApiGatewayAccount"
    assert RESOURCES["RealtimeStage"]["DependsOn"] == "ApiGatewayAccount"


def test_scheduled_functions_keep_what_failed():
    scheduled = {s.function for s in STACK.schedules}
    assert scheduled == {"OutboxSweepFunction", "NightlyStatsFunction", "ChainPollerFunction"}
    dlq = {"Fn::GetAtt": ["SchedulesDLQ", "Arn"]}
    for fn in scheduled:
        props = FUNCTIONS[fn]["Properties"]
        assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": dlq}
        for event in props["Events"].values():
            assert event["Properties"]["DeadLetterConfig"] == {"Arn": dlq}, fn
    # The per-minute ones are not retried: the next run is the retry.
    for fn in ("OutboxSweepFunction", "ChainPollerFunction"):
        assert FUNCTIONS[fn]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_api_facing_functions_stop_before_api_gateway_gives_up():
    api_facing = {r.function for r in STACK.routes} | {a.function for a in STACK.authorizers.values()}
    assert api_facing == {"ApiFunction", "AuthFunction", "AuthorizerFunction"}
    for fn in api_facing:
        assert STACK.functions[fn].timeout < 29, fn
    # The worker's queues keep a message invisible for six times its timeout (AWS's advice).
    worker = STACK.functions["WorkerFunction"].timeout
    for queue in ("JobsQueue", "PriorityQueue"):
        assert int(STACK.queues[queue].attributes["VisibilityTimeout"]) >= 6 * worker


def test_stateful_resources_outlive_a_stack_delete():
    for name in (
        "JobsQueue",
        "PriorityQueue",
        "JobsDLQ",
        "PriorityDLQ",
        "SchedulesDLQ",
        "JwtSecret",
        "ApiAccessLogs",
        "RealtimeAccessLogs",
    ):
        assert (RESOURCES[name]["DeletionPolicy"], RESOURCES[name]["UpdateReplacePolicy"]) == ("Retain", "Retain")
    for name, resource in RESOURCES.items():
        if resource["Type"] in (
            "AWS::SQS::Queue",
            "AWS::DynamoDB::Table",
            "AWS::SecretsManager::Secret",
            "AWS::Logs::LogGroup",
        ):
            assert "DeletionPolicy" in resource and "UpdateReplacePolicy" in resource, f"{name}: a decision, written"
