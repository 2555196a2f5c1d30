"""The lock files say what the requirements files say: each top-level pin is locked at its version, nothing
is locked as a top-level requirement that the file no longer has, and every locked file has its hash.
A requirements file edited without `make lock` fails here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# requirements file -> its lock (the Makefile's `lock` target writes them in this order).
LOCKS = {
    "layers/common/requirements.txt": "layers/common/requirements.lock",
    "layers/lambda-runtime.txt": "layers/lambda-runtime.lock",
    "layers/eth/requirements.txt": "layers/eth/requirements.lock",
    "functions/migrations/requirements.txt": "functions/migrations/requirements.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "requirements-tools.txt": "requirements-tools.lock",
}
# The locks a lock leaves packages out to (it is installed beside them, with --no-deps).
BESIDE = ("layers/common/requirements.lock", "layers/lambda-runtime.lock")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level_pins(path: str) -> dict[str, str]:
    """name -> version of the file's own pins (not those of the files it includes with -r)."""
    pins: dict[str, str] = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _PIN.match(line)
        assert match, f"{path}: {line!r} is not pinned with =="
        pins[canonical(match.group(1))] = match.group(3)
    return pins


@dataclass
class Lock:
    versions: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, int] = field(default_factory=dict)
    via: dict[str, set[str]] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)


def parse_lock(path: str) -> Lock:
    lock = Lock()
    current = ""
    in_excluded = False
    for line in (ROOT / path).read_text().splitlines():
        if match := _PIN.match(line):
            current = canonical(match.group(1))
            lock.versions[current] = match.group(3)
            lock.hashes[current] = 0
            lock.via[current] = set()
            in_excluded = False
        elif "--hash=sha256:" in line and current:
            lock.hashes[current] += 1
        elif line.startswith("# The following packages were excluded"):
            in_excluded = True
        elif in_excluded and line.startswith("# "):
            lock.excluded.add(canonical(line[2:].strip()))
        elif current and (via := re.search(r"-r (\S+)", line)):
            lock.via[current].add(via.group(1))
    return lock


def drift(requirements: str, pins: dict[str, str], lock: Lock, beside: dict[str, str]) -> list[str]:
    """What `make lock` would change: a pin locked at another version (or not at all), a package still
    locked for a requirement the file no longer has."""
    problems = []
    for name, version in pins.items():
        locked = beside.get(name) if name in lock.excluded else lock.versions.get(name)
        if locked != version:
            problems.append(f"{requirements} says {name}=={version}, the lock has {locked}")
    for name, files in lock.via.items():
        if requirements in files and name not in pins:
            problems.append(f"the lock still has {name} for {requirements}, which no longer asks for it")
    return problems


def _beside(lock_path: str) -> dict[str, str]:
    return {n: v for other in BESIDE if other != lock_path for n, v in parse_lock(other).versions.items()}


@pytest.mark.parametrize("requirements", sorted(LOCKS))
def test_each_lock_says_what_its_requirements_file_says(requirements: str):
    lock_path = LOCKS[requirements]
    problems = drift(requirements, top_level_pins(requirements), parse_lock(lock_path), _beside(lock_path))
    assert problems == [], f"{lock_path} is stale, run `make lock`"


def test_a_moved_pin_and_a_dropped_requirement_are_drift():
    requirements, lock_path = "layers/common/requirements.txt", LOCKS["layers/common/requirements.txt"]
    pins, lock = top_level_pins(requirements), parse_lock(lock_path)
    moved = {**pins, "pydantic": pins["pydantic"] + ".1"}
    assert drift(requirements, moved, lock, {}) == [
        f"{requirements} says pydantic=={moved['pydantic']}, the lock has {pins['pydantic']}"
    ]
    dropped = {name: v for name, v in pins.items() if name != "redis"}
    assert drift(requirements, dropped, lock, {}) == [
        f"the lock still has redis for {requirements}, which no longer asks for it"
    ]


@pytest.mark.parametrize("lock_path", sorted(LOCKS.values()))
def test_every_locked_package_has_a_hash(lock_path: str):
    lock = parse_lock(lock_path)
    assert lock.versions
    assert [name for name, count in lock.hashes.items() if count == 0] == []


def test_development_runs_what_the_layers_ship_at_the_same_versions():
    dev = parse_lock("requirements-dev.lock").versions
    for path in (*BESIDE, "layers/eth/requirements.lock"):
        shipped = parse_lock(path).versions
        assert {n: v for n, v in shipped.items() if dev.get(n) != v} == {}, path


def test_the_eth_layer_ships_nothing_the_common_layer_has():
    common = parse_lock("layers/common/requirements.lock").versions
    assert set(parse_lock("layers/eth/requirements.lock").versions).isdisjoint(common)
