from __future__ import annotations

import ssl
from decimal import Decimal

import pytest

from gbc.data.database import _ssl_context, database_url
from gbc.settings import Settings


def test_database_url_always_uses_pg8000():
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert database_url(settings).drivername == "postgresql+pg8000"


def test_database_url_from_rds_proxy_endpoint_and_password():
    settings = Settings(database_url=None, db_host="proxy.example", db_name="gbc", db_user="app", db_password="s3cret")
    url = database_url(settings)
    assert (url.host, url.database, url.username, url.password) == ("proxy.example", "gbc", "app", "s3cret")


def test_database_url_is_required():
    with pytest.raises(RuntimeError, match="DATABASE_URL or DB_HOST"):
        database_url(Settings(database_url=None, db_host=None))


def test_ssl_modes():
    assert _ssl_context("disable") is False
    required = _ssl_context("require")
    assert isinstance(required, ssl.SSLContext) and required.verify_mode == ssl.CERT_NONE
    verified = _ssl_context("verify")
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SIGNUP_BONUS", "100.5")
    monkeypatch.setenv("DB_SSL", "verify")
    settings = Settings()
    assert settings.signup_bonus == Decimal("100.5")
    assert settings.db_ssl == "verify"


def test_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("DB_SSL", "sometimes")
    with pytest.raises(ValueError, match="db_ssl"):
        Settings()
