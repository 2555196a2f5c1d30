"""Check the built artifacts (.aws-sam/build) against the Lambda target they were built for.

1. Every binary in a layer or a function is for the template's architecture (ELF machine), every
   extension module for its CPython (cpython-313-<arch> or abi3), every wheel's tags for the target.
2. No module is shipped twice by two layers of one function (the later layer would shadow it).
3. Every function's handler imports, in a fresh python3.13 of the target architecture (under qemu-user
   on another machine), with only its own code, its layers (in the template's order) and a stand-in for
   the runtime's boto3 on sys.path, as Lambda lays them out in /var/task, /opt/python and the runtime.

What it cannot prove: that Amazon Linux 2023's system libraries load the binaries (Debian trixie's glibc
runs them here), that the runtime's own boto3 version behaves as the stand-in's, or anything about a
request (the handlers are imported, not invoked). Run by `make artifact-check`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ELF_MACHINES = {"arm64": 183, "x86_64": 62}
GNU_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}

_PROBE = """
import importlib, json, sys, sysconfig, time
paths, module, attribute = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.path[:0] = paths
started = time.perf_counter()
handler = getattr(importlib.import_module(module), attribute)
elapsed = time.perf_counter() - started
stdlib = sysconfig.get_paths()["stdlib"]
outside = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
outside = [f for f in outside if not f.startswith(stdlib) and not any(f.startswith(p) for p in paths)]
import platform
print(json.dumps({"callable": callable(handler), "ms": round(elapsed * 1000), "modules": len(sys.modules),
                  "outside": outside, "version": platform.python_version(), "machine": platform.machine()}))
"""


def _elf_machine(path: Path) -> int | None:
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little")


def wheel_tag_ok(tag: str, python: str, arch: str) -> bool:
    """A WHEEL file's Tag (e.g. cp313-cp313-manylinux_2_17_aarch64) runs on CPython `python` ('313')."""
    interpreter, abi, platform = tag.split("-")
    if platform == "any":
        return abi == "none" and interpreter.startswith("py3")
    if not (platform.startswith("manylinux") and platform.endswith("_" + GNU_ARCH[arch])):
        return False
    if abi == "abi3":
        return interpreter.startswith("cp3") and int(interpreter[2:]) <= int(python)
    return interpreter == abi == f"cp{python}"


def binary_problems(root: Path, python: str, arch: str) -> list[str]:
    """python is '313' for CPython 3.13."""
    problems: list[str] = []
    for so in root.rglob("*.so*"):
        if not so.is_file():
            continue
        machine = _elf_machine(so)
        if machine is not None and machine != ELF_MACHINES[arch]:
            problems.append(f"{so}: ELF machine {machine}, not {arch}")
        if ".cpython-" in so.name and f".cpython-{python}-{GNU_ARCH[arch]}-linux-gnu.so" not in so.name:
            problems.append(f"{so}: an extension module for another CPython or architecture")
    for wheel in root.glob("*.dist-info/WHEEL"):
        tags = [line[5:].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
        if not any(wheel_tag_ok(tag, python, arch) for tag in tags):  # a wheel runs where any of its tags does
            problems.append(f"{wheel.parent.name}: no wheel tag of {tags} runs on CPython {python} {arch}")
    return problems


def top_level_names(layer: Path) -> set[str]:
    return {p.name.removesuffix(".py") for p in layer.iterdir() if not p.name.endswith((".dist-info", ".pth"))}


def _ref(value: Any) -> str:
    return value["Ref"] if isinstance(value, dict) else str(value)


def install_runtime_stand_in(pip: str, pip_args: str, lock: Path, target: Path) -> None:
    marker = target / ".lock-sha256"
    digest = hashlib.sha256(lock.read_bytes() + pip_args.encode()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return
    subprocess.run(  # noqa: S603 (pip and its arguments come from the Makefile)
        [pip, "install", "--quiet", "--upgrade", "--target", str(target), *shlex.split(pip_args), "-r", str(lock)],
        check=True,
    )
    marker.write_text(digest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, required=True)
    parser.add_argument("--python", required=True, help="the command that runs the target's python3.13")
    parser.add_argument("--runtime-lock", type=Path, required=True)
    parser.add_argument("--runtime-dir", type=Path, required=True)
    parser.add_argument("--pip", required=True)
    parser.add_argument("--compile-python", help="a native python3.13 that compiles the bytecode first")
    parser.add_argument("--pip-args", required=True)
    args = parser.parse_args()

    template_path = args.build_dir / "template.yaml"
    if not template_path.exists():
        print(f"artifact-check: no {template_path}: run `make template-check` (sam build) first", file=sys.stderr)
        return 1
    template = yaml.safe_load(template_path.read_text())
    globals_fn = template.get("Globals", {}).get("Function", {})
    runtime = str(globals_fn["Runtime"])  # python3.13
    arch = str(globals_fn.get("Architectures", ["x86_64"])[0])
    python_tag = runtime.removeprefix("python").replace(".", "")  # 313
    resources: dict[str, Any] = template["Resources"]
    layers = {
        name: (args.build_dir / res["Properties"]["ContentUri"]).resolve() / "python"
        for name, res in resources.items()
        if res["Type"] == "AWS::Serverless::LayerVersion"
    }
    functions = {name: res for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}

    problems: list[str] = []
    for path in layers.values():
        problems += binary_problems(path, python_tag, arch)
    for res in functions.values():
        problems += binary_problems(args.build_dir / res["Properties"]["CodeUri"], python_tag, arch)

    args.runtime_dir.mkdir(parents=True, exist_ok=True)
    install_runtime_stand_in(args.pip, args.pip_args, args.runtime_lock, args.runtime_dir.resolve())
    python = shlex.split(args.python)
    # Bytecode goes beside, not into, the artifacts (make build ships its own), and is reused by the next function.
    pycache = args.runtime_dir.resolve().parent / f"pycache-{arch}"
    if args.compile_python:  # bytecode is the same on every architecture: compile natively, not emulated
        stdlib = subprocess.run(  # noqa: S603 (the interpreter from fetch_python.sh)
            [*python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        ).stdout.strip()
        subprocess.run(  # noqa: S603 (the host's python3.13 from fetch_python.sh)
            [
                *shlex.split(args.compile_python),
                "-I",
                "-X",
                f"pycache_prefix={pycache}",
                "-m",
                "compileall",
                "-q",
                stdlib,
                str(args.build_dir.resolve()),
                str(args.runtime_dir.resolve()),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd="/",
        )
    print(f"artifact-check: {runtime} {arch}, interpreter: {args.python}")
    for name, res in sorted(functions.items()):
        props = res["Properties"]
        own_layers = [_ref(v) for v in globals_fn.get("Layers", []) + props.get("Layers", [])]
        layer_paths = [layers[layer] for layer in own_layers]
        for i, first in enumerate(layer_paths):
            for later in layer_paths[i + 1 :]:
                if shared := top_level_names(first) & top_level_names(later):
                    problems.append(f"{name}: {first.parent.name} and {later.parent.name} both ship {sorted(shared)}")
        code = (args.build_dir / props["CodeUri"]).resolve()
        paths = [str(code), *map(str, layer_paths), str(args.runtime_dir.resolve())]
        module, attribute = props["Handler"].rsplit(".", 1)
        env = {"AWS_LAMBDA_FUNCTION_NAME": name, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        started = time.perf_counter()
        out = subprocess.run(  # noqa: S603 (the interpreter from fetch_python.sh)
            [*python, "-I", "-X", f"pycache_prefix={pycache}", "-c", _PROBE, json.dumps(paths), module, attribute],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
        )
        wall = time.perf_counter() - started
        if out.returncode != 0:
            problems.append(f"{name}: importing {module} failed:\n{out.stderr.strip()}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if f"python{result['version'].rsplit('.', 1)[0]}" != runtime:
            problems.append(f"{name}: the interpreter is Python {result['version']}, the runtime {runtime}")
        if result["machine"] != GNU_ARCH[arch]:
            problems.append(f"{name}: the interpreter runs on {result['machine']}, the functions on {arch}")
        if not result["callable"]:
            problems.append(f"{name}: {props['Handler']} is not callable")
        if result["outside"]:
            problems.append(f"{name}: modules from outside the artifacts: {result['outside'][:5]}")
        print(
            f"  {name:24} {'+'.join(own_layers):22} import {result['ms']:5} ms "
            f"({result['modules']} modules; process {wall:.1f} s)"
        )
    for problem in problems:
        print(f"artifact-check: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"artifact-check: {len(functions)} handlers import on {runtime} {arch} from {args.build_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
