"""EIP-55 checksummed addresses without importing eth-utils (~0.1 s) into the API function: the
rule is five lines over eth-hash's keccak (a maintained package, here with pycryptodome)."""

from __future__ import annotations


def checksum(address: str) -> str:
    """EIP-55: upper-case each hex letter whose nibble in keccak(lower-case address) is >= 8."""
    from eth_hash.auto import keccak  # at first use, not import: the API function's cold start has none

    lower = address.lower().removeprefix("0x")
    digest = keccak(lower.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))
