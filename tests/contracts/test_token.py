"""GBCToken: ERC-20 transfers and allowances, and who may mint."""

from __future__ import annotations

from tests.conftest import Chain
from tests.contracts.conftest import ALICE, BOB, CAROL, DEPLOYER, reverts, transact

GBC = 10**18


def test_metadata_and_initial_supply(chain: Chain) -> None:
    token = chain.token.functions
    assert token.name().call() == "GBC Token"
    assert token.symbol().call() == "GBC"
    assert token.decimals().call() == 18
    assert token.owner().call() == DEPLOYER.address
    # 1,000,000 GBC of vault liquidity + 10,000 GBC to each of the 10 dev accounts.
    assert token.totalSupply().call() == 1_000_000 * GBC + 10 * 10_000 * GBC
    assert token.balanceOf(chain.deployment.vault).call() == 1_000_000 * GBC
    assert token.balanceOf(ALICE.address).call() == 10_000 * GBC


def test_transfer_moves_tokens_and_emits_transfer(chain: Chain) -> None:
    token = chain.token
    receipt = transact(token.functions.transfer(BOB.address, 25 * GBC), ALICE)
    assert token.functions.balanceOf(ALICE.address).call() == 9_975 * GBC
    assert token.functions.balanceOf(BOB.address).call() == 10_025 * GBC
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert (event.args.sender, event.args.receiver, event.args.value) == (ALICE.address, BOB.address, 25 * GBC)


def test_transfer_beyond_balance_reverts(chain: Chain) -> None:
    with reverts("insufficient balance"):
        transact(chain.token.functions.transfer(BOB.address, 10_001 * GBC), ALICE)


def test_approve_and_transfer_from(chain: Chain) -> None:
    token = chain.token
    receipt = transact(token.functions.approve(BOB.address, 30 * GBC), ALICE)
    (approval,) = token.events.Approval().process_receipt(receipt)
    assert (approval.args.owner, approval.args.spender, approval.args.value) == (ALICE.address, BOB.address, 30 * GBC)

    transact(token.functions.transferFrom(ALICE.address, CAROL.address, 20 * GBC), BOB)
    assert token.functions.allowance(ALICE.address, BOB.address).call() == 10 * GBC
    assert token.functions.balanceOf(CAROL.address).call() == 10_020 * GBC
    with reverts("insufficient allowance"):
        transact(token.functions.transferFrom(ALICE.address, CAROL.address, 11 * GBC), BOB)


def test_only_minters_mint_and_only_the_owner_sets_minters(chain: Chain) -> None:
    token = chain.token
    with reverts("not minter"):
        transact(token.functions.mint(ALICE.address, GBC), ALICE)
    with reverts("not owner"):
        transact(token.functions.set_minter(ALICE.address, True), ALICE)
    assert token.functions.minters(chain.deployment.faucet).call() is True

    transact(token.functions.set_minter(ALICE.address, True), DEPLOYER)
    receipt = transact(token.functions.mint(BOB.address, 7 * GBC), ALICE)
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert event.args.sender == "0x0000000000000000000000000000000000000000"
    assert token.functions.balanceOf(BOB.address).call() == 10_007 * GBC

    transact(token.functions.set_minter(ALICE.address, False), DEPLOYER)
    with reverts("not minter"):
        transact(token.functions.mint(ALICE.address, GBC), ALICE)
