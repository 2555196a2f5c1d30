"""What the API answers, as typed models: the base every response view shares (camelCase on the
wire, snake_case in Python) and the wire types (money as a decimal string, times in ISO 8601).

Each domain keeps its own views beside its service (gbc.game.views, gbc.wallet.views, ...); the routes
return them, so the OpenAPI document carries every response schema. Cached queries store a view's
JSON form (`View.to_json()`) and revive it with `View.model_validate`.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from gbc.money import money_str

# Money on the wire: a plain decimal string ("100.5", never "1E+2" nor a float); any precision.
Money = Annotated[
    Decimal,
    PlainSerializer(money_str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["100.5"]}),
]
Timestamp = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str)]


class View(BaseModel):
    # defer_build: a view's validator and serializer are built on its first use, not at import: a
    # cold start builds those of its own request only (and the OpenAPI document all of them).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, frozen=True, defer_build=True
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what the client gets, and what the cache stores)."""
        return self.model_dump(mode="json", by_alias=True)


class ErrorBody(View):
    """Every error the API answers: a message, and for a validation failure or a domain error the
    details (each failing field with its reason, or the facts behind the refusal)."""

    error: str
    details: list[str] | dict[str, Any] | None = None
