"""Secrets come from the environment locally and from Secrets Manager / SSM in AWS (moto here)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from gbc import secret_store
from gbc.settings import Settings


def test_plain_environment_values_win():
    settings = Settings(jwt_secret="local", db_password="pw", signer_private_key="0xkey")
    assert secret_store.jwt_secret(settings) == "local"
    assert secret_store.db_password(settings) == "pw"
    assert secret_store.signer_private_key(settings) == "0xkey"


@mock_aws
def test_secrets_manager_and_ssm_in_aws(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    db_arn = sm.create_secret(Name="db", SecretString=json.dumps({"username": "gbc", "password": "from-rds"}))["ARN"]
    jwt_arn = sm.create_secret(Name="jwt", SecretString="jwt-from-sm")["ARN"]
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/gbc/dev/signer-key", Value="0xsigner", Type="SecureString"
    )
    settings = Settings(
        jwt_secret=None,
        signer_private_key=None,
        db_secret_arn=db_arn,
        jwt_secret_arn=jwt_arn,
        signer_key_parameter="/gbc/dev/signer-key",
    )
    assert secret_store.db_password(settings) == "from-rds"
    assert secret_store.jwt_secret(settings) == "jwt-from-sm"
    assert secret_store.signer_private_key(settings) == "0xsigner"


def test_missing_secret_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        secret_store.jwt_secret(Settings(jwt_secret=None, jwt_secret_arn=None))
