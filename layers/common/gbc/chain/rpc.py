"""A small Ethereum JSON-RPC client over HTTP: the three calls the poller needs.

urllib3 (already in the Lambda runtime through botocore) instead of web3's HTTPProvider: web3 costs
~0.9 s of cold start for what is three POSTs of JSON.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import urllib3


class RpcError(Exception):
    """The node answered with an error, or not at all."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def range_too_large(self) -> bool:
        """Providers refuse an eth_getLogs range with too many results in their own words (Alchemy,
        Infura, QuickNode...): -32005 or a message about the range or the result count."""
        text = str(self).lower()
        return self.code == -32005 or any(
            hint in text for hint in ("range", "too many", "limit exceeded", "response size", "10000 results")
        )


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    removed: bool


class JsonRpcClient:
    def __init__(self, url: str, timeout: float = 10.0, retries: int = 2) -> None:
        self.url = url
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout), retries=urllib3.Retry(total=retries, backoff_factor=0.2)
        )
        self._ids = itertools.count(1)

    def _post(self, what: str, payload: Any) -> Any:
        try:
            response = self._http.request(
                "POST", self.url, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RpcError(f"{what}: {exc}") from exc
        try:
            return json.loads(response.data)
        except ValueError as exc:
            raise RpcError(f"{what}: HTTP {response.status}, not JSON") from exc

    @staticmethod
    def _result(method: str, answer: dict[str, Any]) -> Any:
        if answer.get("error"):
            error = answer["error"]
            raise RpcError(f"{method}: {error.get('message', error)}", error.get("code"))
        return answer.get("result")

    def call(self, method: str, params: list[Any]) -> Any:
        answer = self._post(method, {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        return self._result(method, answer)

    def batch(self, method: str, params_list: list[list[Any]]) -> list[Any]:
        """One HTTP round trip for many calls of one method (a JSON-RPC batch), results in order."""
        if not params_list:
            return []
        requests = [{"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": p} for p in params_list]
        answers = self._post(method, requests)
        if not isinstance(answers, list):  # a node that refuses batches answers one error object
            raise RpcError(f"{method} batch: {answers.get('error', answers)}")
        by_id = {answer.get("id"): answer for answer in answers}
        return [self._result(method, by_id.get(request["id"], {})) for request in requests]

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def block(self, number: int) -> BlockHeader:
        return self.blocks([number])[number]

    def blocks(self, numbers: list[int]) -> dict[int, BlockHeader]:
        """Headers by number, fetched in one batch."""
        wanted = sorted(set(numbers))
        raws = self.batch("eth_getBlockByNumber", [[hex(n), False] for n in wanted])
        headers: dict[int, BlockHeader] = {}
        for number, raw in zip(wanted, raws, strict=True):
            if raw is None:
                raise RpcError(f"eth_getBlockByNumber: no block {number}")
            headers[number] = BlockHeader(
                number=int(raw["number"], 16),
                hash=raw["hash"].lower(),
                parent_hash=raw["parentHash"].lower(),
                timestamp=int(raw["timestamp"], 16),
            )
        return headers

    def logs(self, from_block: int, to_block: int, addresses: list[str], topics: list[Any]) -> list[Log]:
        raw = self.call(
            "eth_getLogs",
            [{"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": addresses, "topics": topics}],
        )
        return [
            Log(
                address=item["address"].lower(),
                topics=tuple(t.lower() for t in item["topics"]),
                data=item["data"],
                block_number=int(item["blockNumber"], 16),
                block_hash=item["blockHash"].lower(),
                tx_hash=item["transactionHash"].lower(),
                log_index=int(item["logIndex"], 16),
                removed=bool(item.get("removed", False)),
            )
            for item in raw
        ]
