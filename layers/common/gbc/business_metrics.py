"""Business figures (rounds, GBC wagered and paid, deposits, withdrawals, faucet claims) as
Powertools metrics, counted once per event: where a job applies it, and only once its transaction
has committed (a rolled-back or retried job counts nothing twice). Not on the API's hot path: the
worker (or the direct-processing fallback) counts them. The dashboard reads them by these names
(README, "Operations: alarms and logs")."""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools.metrics import MetricUnit

from gbc.data.transaction import UnitOfWork
from gbc.observability import metrics


def count_after_commit(uow: UnitOfWork, **figures: int | Decimal) -> None:
    """Add each figure (name=value, unit Count; GBC amounts as their value) once `uow` commits.
    Zero figures are left out: a Sum over no data is zero on the dashboard anyway."""
    values = {name: float(value) for name, value in figures.items() if value}
    if not values:
        return

    def emit() -> None:
        for name, value in values.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    uow.after_commit(emit)
