# pragma version 0.4.3
"""
@title GBC Faucet
@notice Mints `drip_amount` GBC to whoever claims, at most once per `cooldown` seconds per address.
        The faucet must be a minter of the token. The backend credits the in-game balance when it
        sees `FaucetClaim`.
"""

interface MintableToken:
    def mint(receiver: address, amount: uint256) -> bool: nonpayable

# The poller hard-codes this signature: FaucetClaim(address,uint256).
event FaucetClaim:
    claimer: indexed(address)
    amount: uint256

token: public(immutable(MintableToken))
drip_amount: public(immutable(uint256))
cooldown: public(immutable(uint256))
last_claim: public(HashMap[address, uint256])


@deploy
def __init__(token_address: address, drip: uint256, cooldown_seconds: uint256):
    assert token_address != empty(address), "zero address"
    token = MintableToken(token_address)
    drip_amount = drip
    cooldown = cooldown_seconds


@view
@internal
def _next_claim_time(claimer: address) -> uint256:
    last: uint256 = self.last_claim[claimer]
    if last == 0:
        return 0
    return last + cooldown


@view
@external
def next_claim_time(claimer: address) -> uint256:
    """@notice The first timestamp at which claimer may claim again (0: never claimed)."""
    return self._next_claim_time(claimer)


@external
def claim():
    assert block.timestamp >= self._next_claim_time(msg.sender), "cooldown"
    self.last_claim[msg.sender] = block.timestamp
    assert extcall token.mint(msg.sender, drip_amount), "mint failed"
    log FaucetClaim(claimer=msg.sender, amount=drip_amount)
