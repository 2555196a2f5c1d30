"""The reliability suite: drivers that run against a live local stack (`python -m devstack up`).

- `stack`: start the stack as a subprocess on free ports in a temp data dir, stop it again.
- `client`: a thread-safe HTTP client that counts requests and statuses per route.
- `players`: Sign-In with Ethereum and funding of real users.
- `load`: concurrent players doing the full mix of the API.
- `invariants`: the money, queue, audit and stats invariants, checked in PostgreSQL and SQS.
- `faults`: kill and stop services and containers under load (the stack's `/_local` control API).
- `leaks`: many users reading their own data while others send every kind of bad request.
- `schemathesis_run`: property-based requests generated from the stack's OpenAPI document.

`python -m reliability` runs them all and writes `bench/results/reliability-*.json`; the pytest
tests in `tests/reliability/` run the same drivers with small budgets (full ones with RELIABILITY_FULL=1).
"""
