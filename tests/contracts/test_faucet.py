"""GBCFaucet: a claim mints the drip and emits FaucetClaim; one claim per cooldown per address."""

from __future__ import annotations

from eth_hash.auto import keccak
from web3.logs import DISCARD

from devstack.chain import contract, send
from tests.conftest import Chain
from tests.contracts.conftest import ALICE, BOB, DEPLOYER, reverts, transact
from tests.support.chain import increase_time, latest_timestamp, set_next_timestamp

GBC = 10**18
DRIP = 100 * GBC
COOLDOWN = 86_400


def test_faucet_settings(chain: Chain) -> None:
    faucet = chain.faucet.functions
    assert faucet.drip_amount().call() == DRIP
    assert faucet.cooldown().call() == COOLDOWN
    assert faucet.token().call() == chain.deployment.token
    assert faucet.next_claim_time(ALICE.address).call() == 0


def test_claim_mints_the_drip_and_emits_faucet_claim(chain: Chain) -> None:
    receipt = transact(chain.faucet.functions.claim(), ALICE)
    assert chain.token.functions.balanceOf(ALICE.address).call() == 10_000 * GBC + DRIP
    (event,) = chain.faucet.events.FaucetClaim().process_receipt(receipt, errors=DISCARD)
    assert (event.args.claimer, event.args.amount) == (ALICE.address, DRIP)
    (log,) = [log for log in receipt["logs"] if log["address"] == chain.deployment.faucet]
    assert bytes(log["topics"][0]) == keccak(b"FaucetClaim(address,uint256)")
    claimed_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert chain.faucet.functions.last_claim(ALICE.address).call() == claimed_at
    assert chain.faucet.functions.next_claim_time(ALICE.address).call() == claimed_at + COOLDOWN


def test_cooldown_per_address_then_claim_again(chain: Chain) -> None:
    receipt = transact(chain.faucet.functions.claim(), ALICE)
    claimed_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    with reverts("cooldown"):
        transact(chain.faucet.functions.claim(), ALICE)
    transact(chain.faucet.functions.claim(), BOB)  # another address is not held back

    increase_time(chain.url, COOLDOWN - 10)
    with reverts("cooldown"):
        transact(chain.faucet.functions.claim(), ALICE)

    set_next_timestamp(chain.url, claimed_at + COOLDOWN - 1)  # one second early: mined, and reverted
    with reverts("cooldown"):
        transact(chain.faucet.functions.claim(), ALICE, gas=200_000)
    set_next_timestamp(chain.url, claimed_at + COOLDOWN)  # exactly at the end of the cooldown
    transact(chain.faucet.functions.claim(), ALICE, gas=200_000)  # no estimate: it would run at another time
    assert chain.token.functions.balanceOf(ALICE.address).call() == 10_000 * GBC + 2 * DRIP
    assert latest_timestamp(chain.url) == claimed_at + COOLDOWN


def test_a_faucet_that_is_not_a_minter_cannot_pay(chain: Chain) -> None:
    receipt = send(
        chain.w3, DEPLOYER.key, contract(chain.w3, "GBCFaucet").constructor(chain.deployment.token, DRIP, COOLDOWN)
    )
    rogue = contract(chain.w3, "GBCFaucet", receipt["contractAddress"])
    with reverts("not minter"):
        transact(rogue.functions.claim(), ALICE)
