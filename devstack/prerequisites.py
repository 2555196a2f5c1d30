"""What the local chain needs beyond Python: Node.js 20 or later and npm (hardhat, devstack/localchain).
Without them `make dev` runs everything else: no chain, the poller's schedule paused, and the chain's
routes (the dev wallet's faucet and deposit, POST /api/deposit) answering 503."""

from __future__ import annotations

import re
import shutil
import subprocess

NODE_MAJOR = 20
HOW_TO_ADD = (
    "To add the chain: install Node.js 20 or later with npm (https://nodejs.org/en/download, or nvm: "
    "`nvm install 20`; Debian 13 / Ubuntu 24.10+: `sudo apt-get install nodejs npm`), check `node --version`, "
    "and start `make dev` again (it runs `npm ci` in devstack/localchain on first use)."
)


def node_major(node: str) -> int | None:
    """The major version `node --version` reports (v20.11.1 -> 20), None if it cannot tell."""
    try:
        answer = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"v(\d+)\.", answer.stdout.strip())
    return int(found.group(1)) if found else None


def missing_for_chain(path: str | None = None) -> str | None:
    """None when node >= 20 and npm are on PATH (or `path`); else what is missing and how to add it."""
    problems = []
    node = shutil.which("node", path=path)
    if node is None:
        problems.append("`node` is not on PATH")
    elif (major := node_major(node)) is None or major < NODE_MAJOR:
        problems.append(f"{node} is Node.js {major or 'of an unknown version'}, older than {NODE_MAJOR}")
    if shutil.which("npm", path=path) is None:
        problems.append("`npm` is not on PATH")
    if not problems:
        return None
    return (
        f"no local chain: it needs Node.js {NODE_MAJOR}+ and npm, and {' and '.join(problems)}. Everything else "
        "runs; the chain poller is not scheduled, and deposits and the faucet answer 503. " + HOW_TO_ADD
    )
