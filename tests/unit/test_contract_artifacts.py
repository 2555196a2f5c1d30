"""The committed contract artifacts are built from the committed sources (no recompiling here)."""

from __future__ import annotations

import re

import pytest

from contracts import compile as contracts

EVENT_SIGNATURES = {
    "GBCVault": {"Deposit(address,uint256)", "Withdraw(address,uint256,uint256)"},
    "GBCFaucet": {"FaucetClaim(address,uint256)"},
}


@pytest.mark.parametrize("name", contracts.NAMES)
def test_artifact_matches_source(name: str) -> None:
    artifact = contracts.load_artifact(name)
    assert artifact["sourceSha256"] == contracts.source_sha256(name), (
        f"contracts/build/{name}.json is stale: run `make contracts` and commit it"
    )
    assert artifact["contractName"] == name
    assert artifact["vyperVersion"].startswith("0.4.3")
    assert re.fullmatch(r"0x[0-9a-f]+", artifact["bytecode"])
    assert any(item.get("type") == "function" for item in artifact["abi"])


@pytest.mark.parametrize("name", sorted(EVENT_SIGNATURES))
def test_event_signatures_the_poller_expects(name: str) -> None:
    events = {
        f"{item['name']}({','.join(i['type'] for i in item['inputs'])})": item["inputs"][0]["indexed"]
        for item in contracts.load_artifact(name)["abi"]
        if item["type"] == "event"
    }
    for signature in EVENT_SIGNATURES[name]:
        assert events.get(signature) is True, f"{name} lacks {signature} with its first argument indexed"


def test_vyper_pinned_in_requirements_matches_artifacts() -> None:
    requirements = (contracts.CONTRACTS_DIR.parent / "requirements-dev.txt").read_text()
    assert "vyper==0.4.3" in requirements
