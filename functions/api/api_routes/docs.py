"""GET /api/docs: the committed OpenAPI document (openapi.json, next to api_app; written by
`python -m gbc.api.openapi`) as Swagger UI, or as JSON with `?format=json`, with the servers of the
request (gbc.api.openapi.servers_for). Serving the file keeps Powertools' OpenAPI models out of every
other request: only the Swagger UI page imports them (its HTML generator)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.openapi import DOCUMENT_NAME, servers_for

router = APIGatewayRouter()

DOCUMENT = Path(__file__).resolve().parent.parent / DOCUMENT_NAME
PATH = "/api/docs"


@functools.cache
def committed_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


@functools.cache
def _swagger_assets() -> tuple[str, str]:
    """Swagger UI's script and style, from Powertools' package (inlined in the page, as Powertools does)."""
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui

    folder = Path(str(swagger_ui.__file__)).parent
    return (
        (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (folder / "swagger-ui.min.css").read_text(encoding="utf-8"),
    )


def _swagger_page(spec: str) -> str:
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    script, style = _swagger_assets()
    # `</` escaped: the spec is inlined in a <script> element.
    return generate_swagger_html(spec.replace("</", "<\\/"), script, style, "", None, persist_authorization=True)


@router.get(PATH, include_in_schema=False)
def get_docs() -> Response[str]:
    event = router.current_event
    spec = json.dumps({**committed_document(), "servers": servers_for(event.raw_event)}, ensure_ascii=False)
    if (event.query_string_parameters or {}).get("format") == "json":
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=spec)
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=_swagger_page(spec))
