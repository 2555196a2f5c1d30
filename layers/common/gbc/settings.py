"""Typed settings read once from the environment.

The same variable names are set by template.yaml (AWS), the local stack (devstack) and the tests.
Secrets are never read here directly in AWS: the `*_SECRET_ARN` / `*_PARAMETER` variables name where
they live and `gbc.secret_store` fetches them (cached per container). Locally (devstack, the tests,
`sam local` with env.sam-local.json) those are empty and the plain variables carry the secrets.
"""

import os
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class Settings(BaseModel):
    """Each field from the environment variable of its name, in any case (`DB_SSL` sets `db_ssl`);
    a keyword argument wins over the environment. (pydantic-settings' BaseSettings did this; importing
    it was ~10 ms of every cold start.)"""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    app_env: Literal["local", "test", "dev", "prod"] = "local"
    app_version: str = "0.1.0"
    aws_region: str = "us-east-1"

    # Database: either a full URL (local, tests) or the RDS Proxy endpoint plus a secret (AWS).
    database_url: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str = "gbc"
    db_user: str = "gbc"
    db_password: SecretStr | None = None
    db_secret_arn: str | None = None
    # disable: plain TCP (local, ~5 ms a connect); require: TLS without verification;
    # verify: TLS verified against the system trust store (RDS Proxy's ACM certificate).
    db_ssl: Literal["disable", "require", "verify"] = "disable"
    db_pool_size: int = 1
    db_connect_timeout: float = 5.0

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout: float = 0.5
    # Off: every read goes to the database (bench-compare measures both).
    cache_enabled: bool = True

    # SQS: the endpoint is only set locally (moto server); in AWS boto3 finds the regional one.
    sqs_endpoint_url: str | None = None
    jobs_queue_url: str | None = None
    priority_queue_url: str | None = None
    jobs_dlq_url: str | None = None
    priority_dlq_url: str | None = None
    # Realtime pushes (gbc.realtime): the queue the notifier reads, the table of tickets and
    # connections (DynamoDB: the notifier runs outside the VPC), the WebSocket URL clients connect
    # to and the @connections endpoint the notifier posts to.
    events_queue_url: str | None = None
    realtime_table: str | None = None
    dynamodb_endpoint_url: str | None = None
    realtime_url: str | None = None
    realtime_management_url: str | None = None
    realtime_ticket_ttl_seconds: int = 30

    jwt_secret: SecretStr | None = None
    jwt_secret_arn: str | None = None
    jwt_ttl_seconds: int = 86_400
    signer_private_key: SecretStr | None = None
    signer_key_parameter: str | None = None

    signup_bonus: Decimal = Decimal("0")
    bet_min: Decimal = Decimal("1")
    bet_max: Decimal = Decimal("10000")

    # Sign-In with Ethereum: the domain and URI the signed message must name.
    siwe_domain: str = "localhost:3000"
    siwe_uri: str = "http://localhost:3000"
    auth_nonce_ttl_seconds: int = 300
    # Browser origins allowed to call the API (CORS), comma-separated; the first is the page's (API
    # Gateway's own answers, preflight included, name only it). Empty: no cross-origin access.
    cors_allowed_origins: str = ""

    deposit_intent_ttl_seconds: int = 3600
    withdrawal_voucher_ttl_seconds: int = 3600
    # A held withdrawal is refunded once a confirmed block is this much past the voucher's deadline:
    # a reorg deeper than the confirmations could otherwise bring back a block that may still pay it.
    withdrawal_refund_grace_seconds: int = 300
    # Contracts (deployed by the chain issue; zero address until then).
    vault_address: str = "0x0000000000000000000000000000000000000000"
    token_address: str = "0x0000000000000000000000000000000000000000"  # noqa: S105 - an address
    faucet_address: str = "0x0000000000000000000000000000000000000000"

    chain_id: int = 31337
    chain_rpc_url: str | None = None
    chain_confirmations: int = 3
    # The poller: where a chain without a checkpoint starts (the contracts' deployment block), the
    # largest eth_getLogs range it asks for (it halves on a provider's "too many results" and grows
    # back), how long one invocation keeps reading, and each JSON-RPC call's timeout.
    chain_start_block: int = 0
    chain_max_block_range: int = 2000
    chain_poll_budget_seconds: float = 40.0
    chain_rpc_timeout: float = 10.0

    outbox_sweep_age_seconds: int = 5
    # A job sent this long ago whose row is still there (not processed: SQS lost it, or it was
    # purged) is sent again, at most OUTBOX_MAX_SENDS times in all; then it stays for an operator
    # (OutboxStuck). Longer than the retry budget below, so a job still being retried is not doubled.
    outbox_resend_after_seconds: int = 600
    outbox_max_sends: int = 4
    # Retry backoff of a failed job: visibility base * 2^(receives-1), with equal jitter, capped.
    # With the queues' maxReceiveCount (8, template.yaml) a job is retried for at least 91 s
    # (1+2+4+8+16+30+30) before the DLQ: longer than a 60 s database outage (gbc.queue.backoff).
    job_backoff_base_seconds: int = 2
    job_backoff_cap_seconds: int = 60

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_allowed_origins.split(",") if o.strip())

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        # A variable set to "" is unset: template.yaml declares the local-only ones empty (SAM local
        # overrides only the variables a template declares), and "" is no valid URL, key or number.
        return {**{name.lower(): value for name, value in os.environ.items() if value != ""}, **values}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings, validated once."""
    return Settings()
