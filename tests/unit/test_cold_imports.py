"""What a cold start imports: each function's handler module in a fresh interpreter, as Lambda loads
it, must not pull in the heavy libraries it was moved off (they would come back unnoticed through
one import line): eth-account's stack (sign-in uses libsecp256k1), the X-Ray SDK (tracing is
Lambda's active tracing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack.template import ROOT, load_raw, load_stack

HANDLER_MODULES = {logical_id: fn.handler.rsplit(".", 1)[0] for logical_id, fn in load_stack().functions.items()}

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_importing(module: str, unset: frozenset[str] | set[str] = frozenset()) -> set[str]:
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env["AWS_LAMBDA_FUNCTION_NAME"] = module
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".", 1)[0] for name in modules}


def test_the_auth_function_recovers_signers_without_the_eth_account_stack():
    imported = _top_level(_modules_after_importing(HANDLER_MODULES["AuthFunction"]))
    assert "coincurve" in imported
    assert imported.isdisjoint({"eth_account", "eth_keys", "eth_keyfile", "eth_utils", "py_ecc", "web3"})


@pytest.mark.parametrize("logical_id", sorted(set(HANDLER_MODULES) - {"AuthFunction"}))
def test_no_other_function_imports_the_eth_account_stack_either(logical_id: str):
    imported = _top_level(_modules_after_importing(HANDLER_MODULES[logical_id]))
    assert imported.isdisjoint({"eth_account", "eth_keys", "eth_keyfile", "py_ecc", "web3"})


@pytest.mark.parametrize("logical_id", sorted(HANDLER_MODULES))
def test_no_function_imports_the_xray_sdk(logical_id: str):
    # Tracing is Lambda's own (Tracing: Active): without POWERTOOLS_TRACE_DISABLED nothing may load the SDK.
    imported = _top_level(_modules_after_importing(HANDLER_MODULES[logical_id], {"POWERTOOLS_TRACE_DISABLED"}))
    assert "aws_xray_sdk" not in imported


def test_the_api_function_builds_the_openapi_document_only_when_asked_for_it():
    # Powertools' OpenAPI models (~30 ms to import) are for /api/docs alone, served from the committed
    # document (api_routes/docs.py).
    assert "aws_lambda_powertools.event_handler.openapi.models" not in _modules_after_importing("api_app")


def test_the_api_function_loads_the_email_validator_only_for_a_profile_edit():
    # EmailStr (PATCH /api/user) needs email-validator (~15 ms): request and response models are
    # built on first use (defer_build), so no other request pays it.
    assert "email_validator" not in _top_level(_modules_after_importing("api_app"))


def test_the_api_function_leaves_cli_parsing_and_keccak_for_when_they_are_used():
    # argparse (with gettext) is for `python -m gbc.api.openapi`, reached through api_routes.docs;
    # eth-hash's keccak for the EIP-55 checksums of responses with an address, not the health check.
    # About 3 ms of an import that is within 1 % of the 1.25x cold-start goal.
    assert _top_level(_modules_after_importing("api_app")).isdisjoint({"argparse", "gettext", "eth_hash"})


@pytest.mark.parametrize("logical_id", sorted(HANDLER_MODULES))
def test_no_function_reads_its_settings_through_pydantic_settings(logical_id: str):
    # gbc.settings reads the environment itself: importing pydantic-settings was ~10 ms of each cold start.
    assert "pydantic_settings" not in _top_level(_modules_after_importing(HANDLER_MODULES[logical_id]))


_GC_PROBE = """
import gc, importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


@pytest.mark.parametrize("logical_id", sorted(HANDLER_MODULES))
def test_every_function_freezes_what_its_import_built_and_collects_again(logical_id: str):
    # The collector is off while a handler module is imported (its passes over the objects being
    # built were ~0.1 s of a cold start); it must be back on for what requests create.
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": logical_id}
    out = subprocess.run(
        [sys.executable, "-c", _GC_PROBE, HANDLER_MODULES[logical_id]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    state = json.loads(out.stdout.strip().splitlines()[-1])
    how = "a handler module starts with gc.disable() and ends with gc.freeze(); gc.enable() (see api_app)"
    assert state["enabled"] is True, how
    assert state["frozen"] > 10_000, how


def test_tracing_is_lambdas_and_api_gateways_own():
    raw = load_raw()
    assert raw["Globals"]["Function"]["Tracing"] == "Active"
    assert raw["Resources"]["Api"]["Properties"]["TracingEnabled"] is True
