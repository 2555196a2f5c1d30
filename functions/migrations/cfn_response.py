"""The answer to a CloudFormation custom resource request: a JSON document PUT to the pre-signed S3
URL the request carries (ResponseURL). Hand-written (urllib, a dozen lines) rather than crhelper:
one PUT is all it takes, and the function stays free of a dependency whose polling and timer
machinery a migration that must finish inside one invocation does not use."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Literal

# CloudFormation reads at most 4096 bytes of response; the reason is cut well below that.
MAX_REASON = 1500


def send(
    event: dict[str, Any],
    status: Literal["SUCCESS", "FAILED"],
    reason: str,
    physical_id: str,
    data: dict[str, str] | None = None,
    timeout: float = 30,
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "...",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data or {},
        }
    ).encode()
    # The URL is signed without a content type: urllib's default (form-urlencoded) would break the signature.
    request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's (https), or a test's server
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - see above
        response.read()
