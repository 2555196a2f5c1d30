"""The fingerprint of the Alembic scripts a deploy ships (standard library only).

`make deploy` computes it over the repository's migrations/ and passes it to the template
(MigrationsHash); the migrations function computes it over the copy it carries. A new hash makes
CloudFormation update the Custom::Migrations resource, which runs the migrations; a hash that is not
the function's own means a stale build (or a rollback), which the function tells apart.

    python functions/migrations/scripts_hash.py [scripts_dir]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

# A link to the repository's migrations/ (sam build copies its content into the function).
SCRIPTS = Path(__file__).resolve().parent / "migrations"


def scripts_hash(scripts: Path = SCRIPTS) -> str:
    """SHA-256 over every .py file's path and content, in path order (caches and templates excluded)."""
    digest = hashlib.sha256()
    files = sorted(p for p in scripts.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(scripts).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    print(scripts_hash(Path(sys.argv[1]) if len(sys.argv) > 1 else SCRIPTS))
