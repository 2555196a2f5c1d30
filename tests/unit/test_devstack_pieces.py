"""The local stack's translations: schedules, authorizer policies, REST events and responses."""

from __future__ import annotations

import base64

import pytest

from devstack.apigw import decode_response, policy_allows, rest_event
from devstack.scheduler import period_seconds
from devstack.sqs_pump import failed_ids
from devstack.template import SqsMapping


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("cron(0 3 * * ? *)", 86400)],
)
def test_schedule_periods(expression, seconds):
    assert period_seconds(expression) == seconds


def test_explicit_deny_wins():
    arn = "arn:aws:execute-api:us-east-1:1:api/local/GET/api/user"
    policy = {
        "policyDocument": {
            "Statement": [
                {"Effect": "Allow", "Resource": ["arn:aws:execute-api:us-east-1:1:api/local/*/*"]},
                {"Effect": "Deny", "Resource": [arn]},
            ]
        }
    }
    assert not policy_allows(policy, arn)
    assert policy_allows(policy, arn.replace("/api/user", "/api/health"))


def test_rest_event_carries_query_headers_and_binary_body():
    event = rest_event(
        "GET",
        "/api/history",
        query={"limit": ["5"], "tag": ["a", "b"]},
        headers={"X-Test": ["1"]},
        body=b"\xff\x00",
        authorizer={"userId": "u1"},
    )
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\xff\x00"
    assert event["requestContext"]["authorizer"] == {"userId": "u1"}


def test_decode_response_merges_headers_and_base64():
    status, headers, body = decode_response(
        {
            "statusCode": 201,
            "headers": {"A": "1"},
            "multiValueHeaders": {"Set-Cookie": ["x=1", "y=2"]},
            "body": base64.b64encode(b"hi").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 201 and body == b"hi"
    assert ("Set-Cookie", "x=1") in headers and ("Set-Cookie", "y=2") in headers and ("A", "1") in headers


def test_partial_batch_failures():
    mapping = SqsMapping("Fn", "Q", 10, 0, True, 2)
    messages = [{"MessageId": "a"}, {"MessageId": "b"}]
    assert failed_ids(mapping, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False, messages) == {"b"}
    assert failed_ids(mapping, None, True, messages) == {"a", "b"}
    no_reporting = SqsMapping("Fn", "Q", 10, 0, False, 2)
    assert failed_ids(no_reporting, {"batchItemFailures": [{"itemIdentifier": "b"}]}, False, messages) == set()
