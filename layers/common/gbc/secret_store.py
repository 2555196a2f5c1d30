"""Secrets: from the environment locally, from Secrets Manager / SSM in AWS (cached per container).

Powertools' parameters utility does the fetching and caching; boto3 is only imported when a secret
actually has to be fetched, so local runs and cold starts that need no secret pay nothing.
"""

from __future__ import annotations

import json

from gbc.settings import Settings

_CACHE_SECONDS = 300


def _secret_string(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=_CACHE_SECONDS))


def _parameter(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_parameter(name, decrypt=True, max_age=_CACHE_SECONDS))


def db_password(settings: Settings) -> str | None:
    if settings.db_password is not None:
        return settings.db_password.get_secret_value()
    if settings.db_secret_arn:
        # RDS-managed secrets are JSON documents {"username": ..., "password": ...}.
        raw = _secret_string(settings.db_secret_arn)
        try:
            return str(json.loads(raw)["password"])
        except (ValueError, KeyError):
            return raw
    return None


def jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if settings.jwt_secret_arn:
        return _secret_string(settings.jwt_secret_arn)
    raise RuntimeError("JWT_SECRET or JWT_SECRET_ARN must be set")


def signer_private_key(settings: Settings) -> str:
    if settings.signer_private_key is not None:
        return settings.signer_private_key.get_secret_value()
    if settings.signer_key_parameter:
        return _parameter(settings.signer_key_parameter)
    raise RuntimeError("SIGNER_PRIVATE_KEY or SIGNER_KEY_PARAMETER must be set")
