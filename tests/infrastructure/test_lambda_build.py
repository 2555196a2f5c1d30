"""The Lambda target is one thing in three places (template, Makefile, locks), every resource is built by
the Makefile for it, and each function gets the layers whose packages its code can import, and no more."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest

from devstack.template import ROOT, load_raw

RAW = load_raw()
RESOURCES: dict[str, Any] = RAW["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
LAYERS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::LayerVersion"}
MAKEFILE = (ROOT / "Makefile").read_text()
# Where a handler's own imports are found (the Makefile's CODE_PATHS, as Lambda lays them out).
CODE_PATHS = [ROOT / "layers" / "common", *sorted((ROOT / "functions").iterdir())]


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name} \??:?= *(\S+)", MAKEFILE, re.M)
    assert match, name
    return match.group(1)


def test_the_runtime_and_architecture_are_the_makefiles():
    fn = RAW["Globals"]["Function"]
    assert fn["Runtime"] == f"python{_make_variable('LAMBDA_PYTHON')}"
    assert fn["Architectures"] == [_make_variable("LAMBDA_ARCH")]
    for layer in LAYERS.values():
        assert layer["Properties"]["CompatibleRuntimes"] == [fn["Runtime"]]
        assert layer["Properties"]["CompatibleArchitectures"] == fn["Architectures"]


@pytest.mark.parametrize("logical_id", sorted({**FUNCTIONS, **LAYERS}))
def test_every_function_and_layer_is_built_by_the_makefile_for_the_target(logical_id: str):
    # Any other build method runs pip for this machine's Python (or needs a python3.13 on PATH).
    assert RESOURCES[logical_id].get("Metadata") == {"BuildMethod": "makefile", "ContextPath": "./"}
    assert re.search(r"^build-%(Function|Layer):", MAKEFILE, re.M)
    assert logical_id.endswith(("Function", "Layer"))


def _lock_distributions(path: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", path.read_text(), re.M) if path.exists() else []
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names}


def _layer_distributions(logical_id: str) -> set[str]:
    return _lock_distributions(ROOT / LAYERS[logical_id]["Properties"]["ContentUri"] / "requirements.lock")


def _find(module: str) -> Path | None:
    for base in CODE_PATHS:
        path = base.joinpath(*module.split("."))
        if (path / "__init__.py").exists():
            return path / "__init__.py"
        if path.with_suffix(".py").exists():
            return path.with_suffix(".py")
    return None


def third_party_imports(handler_module: str) -> set[str]:
    """Top-level third-party modules the handler's code can import, lazy imports inside functions included."""
    seen: set[str] = set()
    found: set[str] = set()
    todo = [handler_module]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _find(module)
        if path is None:
            top = module.split(".")[0]
            if _find(top) is None and top not in sys.stdlib_module_names:
                found.add(top)
            continue
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                todo += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def _distributions(modules: set[str]) -> set[str]:
    by_module = packages_distributions()
    return {re.sub(r"[-_.]+", "-", d).lower() for m in modules for d in by_module.get(m, [m])}


RUNTIME = _lock_distributions(ROOT / "layers" / "lambda-runtime.lock")


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_has_the_layers_its_code_imports_and_no_other(logical_id: str):
    props = FUNCTIONS[logical_id]["Properties"]
    layers = RAW["Globals"]["Function"]["Layers"] + props.get("Layers", [])
    names = [layer["Ref"] if isinstance(layer, dict) else layer for layer in layers]
    provided = RUNTIME.union(*(_layer_distributions(name) for name in names))
    provided |= _lock_distributions(ROOT / props["CodeUri"] / "requirements.lock")
    needed = _distributions(third_party_imports(props["Handler"].rsplit(".", 1)[0]))
    assert needed - provided == set(), f"{logical_id} imports packages none of its layers ships"
    for name in names[1:]:  # the common layer (Globals) is every function's; any other must be needed
        assert needed & _layer_distributions(name), f"{logical_id} does not need {name}"


def test_the_import_walk_finds_lazy_imports():
    # gbc.wallet.service imports eth-account inside request_withdrawal only.
    assert "eth_account" in third_party_imports("api_app")
    assert "eth_account" not in third_party_imports("worker_app")
