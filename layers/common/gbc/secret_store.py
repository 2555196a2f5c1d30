"""Secrets: from Secrets Manager / SSM in AWS (cached per container), from the environment locally.

Where a secret's ARN or parameter name is set (AWS), it is the only source: a plain variable beside
it is ignored, so a stray JWT_SECRET in a deployed function can never replace the real key. Only
when it is empty (devstack, the tests, `sam local` with env.sam-local.json) do the plain variables
(DB_PASSWORD, JWT_SECRET, SIGNER_PRIVATE_KEY) carry the secrets.

Powertools' parameters utility does the fetching and caching; boto3 is only imported when a secret
actually has to be fetched, so local runs and cold starts that need no secret pay nothing.
"""

from __future__ import annotations

import json

from gbc.settings import Settings

_CACHE_SECONDS = 300


def _secret_string(arn: str, fresh: bool = False) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=_CACHE_SECONDS, force_fetch=fresh))


def _parameter(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_parameter(name, decrypt=True, max_age=_CACHE_SECONDS))


def db_password(settings: Settings, fresh: bool = False) -> str | None:
    """`fresh`: skip the cache (a login was refused: RDS rotates a managed password every 7 days)."""
    if settings.db_secret_arn:
        # RDS-managed secrets are JSON documents {"username": ..., "password": ...}.
        raw = _secret_string(settings.db_secret_arn, fresh)
        try:
            return str(json.loads(raw)["password"])
        except (ValueError, KeyError):
            return raw
    if settings.db_password is not None:
        return settings.db_password.get_secret_value()
    return None


def jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret_arn:
        return _secret_string(settings.jwt_secret_arn)
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
        return settings.jwt_secret.get_secret_value()
    raise RuntimeError("JWT_SECRET or JWT_SECRET_ARN must be set")


def signer_private_key(settings: Settings) -> str:
    if settings.signer_key_parameter:
        return _parameter(settings.signer_key_parameter)
    if settings.signer_private_key is not None and settings.signer_private_key.get_secret_value():
        return settings.signer_private_key.get_secret_value()
    raise RuntimeError("SIGNER_PRIVATE_KEY or SIGNER_KEY_PARAMETER must be set")
