"""python -m devstack player against the session's chain, and the dev accounts the deployment funds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from devstack.__main__ import main
from devstack.chain import DEV_KEYS, TOKEN_ADDRESS_ON_FRESH_NODE
from devstack.player import load_voucher
from gbc.wallet.voucher import sign_voucher
from tests.conftest import Chain
from tests.support.chain import latest_timestamp

GBC = 10**18
PLAYER = Account.from_key(DEV_KEYS[2])  # the player command's default wallet


@pytest.fixture
def data_dir(chain: Chain, tmp_path: Path) -> Path:
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "deployment.json").write_text(chain.deployment.to_json())
    return tmp_path


def player(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "player", *args])


def test_dev_keys_are_the_nodes_accounts_and_the_token_address_is_deterministic(chain: Chain) -> None:
    assert [Account.from_key(key).address for key in DEV_KEYS] == chain.w3.eth.accounts[: len(DEV_KEYS)]
    assert chain.deployment.token == TOKEN_ADDRESS_ON_FRESH_NODE
    assert chain.deployment.start_block == 1
    env = chain.deployment.env()
    assert env["TOKEN_ADDRESS"] == TOKEN_ADDRESS_ON_FRESH_NODE and env["CHAIN_START_BLOCK"] == "1"


def test_player_faucet_deposit_withdraw_balance(
    chain: Chain, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    balance = chain.token.functions.balanceOf
    assert player(data_dir, "faucet") == 0
    assert player(data_dir, "faucet") == 1  # cooldown
    assert "reverted: cooldown" in capsys.readouterr().err
    assert player(data_dir, "deposit", "25.5") == 0
    assert balance(PLAYER.address).call() == 10_000 * GBC + 100 * GBC - 255 * GBC // 10

    voucher = sign_voucher(PLAYER.address, 5 * GBC, 901, latest_timestamp(chain.url) + 3600)
    (tmp_path / "answer.json").write_text(json.dumps({"voucher": voucher}))
    assert player(data_dir, "withdraw", "--voucher", str(tmp_path / "answer.json")) == 0
    assert balance(PLAYER.address).call() == 10_000 * GBC + 100 * GBC - 255 * GBC // 10 + 5 * GBC
    (tmp_path / "voucher.json").write_text(json.dumps(voucher))
    assert player(data_dir, "withdraw", "--voucher", str(tmp_path / "voucher.json")) == 1
    assert "reverted: nonce used" in capsys.readouterr().err

    assert player(data_dir, "--key", DEV_KEYS[3], "withdraw", "--voucher", str(tmp_path / "voucher.json")) == 1
    assert player(data_dir, "balance") == 0
    assert "next claim in" in capsys.readouterr().out


def test_load_voucher_accepts_both_shapes() -> None:
    voucher = {"message": {"player": "0x1", "amount": "1", "nonce": "1", "deadline": 1}, "signature": "0x00"}
    assert load_voucher(json.dumps({"voucher": voucher})) == voucher
    assert load_voucher(json.dumps(voucher)) == voucher
    with pytest.raises(ValueError):
        load_voucher(json.dumps({"nope": 1}))
