"""Where each secret comes from: the ARN / parameter when it is set (AWS), the plain variable only
when it is empty (devstack, tests, `sam local` with env.sam-local.json, which sets the ARNs to "")."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from gbc import secret_store
from gbc.settings import Settings


@mock_aws
def test_a_set_arn_wins_over_a_plain_variable_beside_it():
    jwt_arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="jwt", SecretString="from-secrets-manager"
    )["ARN"]
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/k", Value="0xfromssm", Type="SecureString")
    settings = Settings(
        jwt_secret="stray", jwt_secret_arn=jwt_arn, signer_private_key="0xstray", signer_key_parameter="/k"
    )
    assert secret_store.jwt_secret(settings) == "from-secrets-manager"
    assert secret_store.signer_private_key(settings) == "0xfromssm"


def test_empty_arns_from_the_environment_fall_back_to_the_plain_variables(monkeypatch):
    # What env.sam-local.json gives a function: the template's ARNs overridden with "".
    monkeypatch.setenv("JWT_SECRET_ARN", "")
    monkeypatch.setenv("SIGNER_KEY_PARAMETER", "")
    monkeypatch.setenv("DB_SECRET_ARN", "")
    monkeypatch.setenv("JWT_SECRET", "local-jwt")
    monkeypatch.setenv("SIGNER_PRIVATE_KEY", "0xlocal")
    monkeypatch.setenv("DB_PASSWORD", "pw")
    settings = Settings()
    assert (settings.jwt_secret_arn, settings.signer_key_parameter, settings.db_secret_arn) == (None, None, None)
    assert secret_store.jwt_secret(settings) == "local-jwt"
    assert secret_store.signer_private_key(settings) == "0xlocal"
    assert secret_store.db_password(settings) == "pw"


def test_a_secret_declared_empty_in_the_template_is_no_secret(monkeypatch):
    # template.yaml declares JWT_SECRET and SIGNER_PRIVATE_KEY as "" (so SAM local may set them):
    # in AWS they are empty and must never be taken for a key.
    monkeypatch.setenv("JWT_SECRET", "")
    monkeypatch.setenv("SIGNER_PRIVATE_KEY", "")
    monkeypatch.delenv("JWT_SECRET_ARN", raising=False)
    monkeypatch.delenv("SIGNER_KEY_PARAMETER", raising=False)
    settings = Settings()
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        secret_store.jwt_secret(settings)
    with pytest.raises(RuntimeError, match="SIGNER_PRIVATE_KEY"):
        secret_store.signer_private_key(settings)
    with pytest.raises(RuntimeError, match="JWT_SECRET"):  # and "" given directly is no key either
        secret_store.jwt_secret(Settings(jwt_secret="", jwt_secret_arn=None))


def test_empty_local_only_variables_are_unset(monkeypatch):
    for name in ("DATABASE_URL", "SQS_ENDPOINT_URL", "DYNAMODB_ENDPOINT_URL", "SIGNUP_BONUS"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.database_url, settings.sqs_endpoint_url, settings.dynamodb_endpoint_url) == (None, None, None)
    assert settings.signup_bonus == 0
