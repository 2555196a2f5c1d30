"""The GBC contracts (Vyper sources) and their compiled artifacts in contracts/build/."""
