"""Compile the Vyper contracts to contracts/build/<Name>.json (committed): `python -m contracts.compile`.

Offline, through vyper's Python API. Each artifact records the sha256 of its source, so a test can
tell a stale artifact without recompiling. `--check` compiles nothing and exits 1 when an artifact
is missing or stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent
BUILD_DIR = CONTRACTS_DIR / "build"
NAMES = ("GBCToken", "GBCVault", "GBCFaucet")
# Pinned so the bytecode does not change with vyper's default; every current node runs cancun code.
EVM_VERSION = "cancun"


def source_path(name: str) -> Path:
    return CONTRACTS_DIR / f"{name}.vy"


def artifact_path(name: str) -> Path:
    return BUILD_DIR / f"{name}.json"


def source_sha256(name: str) -> str:
    return hashlib.sha256(source_path(name).read_bytes()).hexdigest()


def load_artifact(name: str) -> dict[str, Any]:
    return dict(json.loads(artifact_path(name).read_text()))


def compile_contract(name: str) -> dict[str, Any]:
    import vyper
    from vyper.compiler.settings import Settings

    path = source_path(name)
    out = vyper.compile_code(
        path.read_text(),
        contract_path=path.name,
        output_formats=["abi", "bytecode"],
        settings=Settings(evm_version=EVM_VERSION),
    )
    return {
        "contractName": name,
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "vyperVersion": vyper.__version__,
        "evmVersion": EVM_VERSION,
        "sourceSha256": source_sha256(name),
    }


def stale() -> list[str]:
    """Contracts whose artifact is missing or was built from another source."""
    result = []
    for name in NAMES:
        try:
            if load_artifact(name)["sourceSha256"] != source_sha256(name):
                result.append(name)
        except (FileNotFoundError, KeyError, json.JSONDecodeError):
            result.append(name)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.compile", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report missing or stale artifacts")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for name in bad:
            print(f"{artifact_path(name)} is missing or stale; run `make contracts`", file=sys.stderr)
        return 1 if bad else 0
    BUILD_DIR.mkdir(exist_ok=True)
    for name in NAMES:
        artifact = compile_contract(name)
        artifact_path(name).write_text(json.dumps(artifact, indent=2) + "\n")
        print(f"{artifact_path(name).relative_to(CONTRACTS_DIR.parent)}: {len(artifact['bytecode']) // 2 - 1} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
