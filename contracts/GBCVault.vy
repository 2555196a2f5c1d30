# pragma version 0.4.3
"""
@title GBC Vault
@notice Holds the players' deposited GBC. A player deposits on chain (the backend credits the
        in-game balance when it sees `Deposit`) and withdraws with a voucher the backend signed:
        EIP-712 typed data, exactly as layers/common/gbc/wallet/voucher.py produces it,
            domain  = {name: "GBC Vault", version: "1", chainId, verifyingContract: this vault}
            Withdrawal(address player,uint256 amount,uint256 nonce,uint256 deadline)
        with player = msg.sender. Each nonce pays out once; a voucher past its deadline is refused
        (the backend refunds it).
"""

from ethereum.ercs import IERC20

# The poller hard-codes these two signatures: Deposit(address,uint256), Withdraw(address,uint256,uint256).
event Deposit:
    player: indexed(address)
    amount: uint256

event Withdraw:
    player: indexed(address)
    amount: uint256
    nonce: uint256

event SignerChanged:
    previous_signer: indexed(address)
    new_signer: indexed(address)

event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
WITHDRAWAL_TYPEHASH: constant(bytes32) = keccak256(
    "Withdrawal(address player,uint256 amount,uint256 nonce,uint256 deadline)"
)
NAME_HASH: constant(bytes32) = keccak256("GBC Vault")
VERSION_HASH: constant(bytes32) = keccak256("1")
# secp256k1n / 2 (0x7FFF...5D576E7357A4501DDFE92F46681B20A0): a larger s is the malleable twin of a valid signature (EIP-2).
MAX_S: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

token: public(immutable(IERC20))
signer: public(address)
owner: public(address)
nonce_used: public(HashMap[uint256, bool])


@deploy
def __init__(token_address: address, signer_address: address):
    assert token_address != empty(address), "zero address"
    assert signer_address != empty(address), "zero address"
    token = IERC20(token_address)
    self.signer = signer_address
    self.owner = msg.sender
    log OwnershipTransferred(previous_owner=empty(address), new_owner=msg.sender)
    log SignerChanged(previous_signer=empty(address), new_signer=signer_address)


@view
@internal
def _domain_separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@view
@external
def domain_separator() -> bytes32:
    return self._domain_separator()


@view
@internal
def _digest(player: address, amount: uint256, nonce: uint256, deadline: uint256) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(WITHDRAWAL_TYPEHASH, player, amount, nonce, deadline))
    return keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))


@view
@external
def withdrawal_digest(player: address, amount: uint256, nonce: uint256, deadline: uint256) -> bytes32:
    return self._digest(player, amount, nonce, deadline)


@view
@internal
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    """The signer of digest, or empty(address) for a malformed, malleable or invalid signature."""
    if len(signature) != 65:
        return empty(address)
    r: uint256 = convert(slice(signature, 0, 32), uint256)
    s: uint256 = convert(slice(signature, 32, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v != 27 and v != 28:
        return empty(address)
    if s == 0 or s > MAX_S or r == 0:
        return empty(address)
    return ecrecover(digest, v, r, s)


@external
def deposit(amount: uint256):
    assert amount > 0, "zero amount"
    assert extcall token.transferFrom(msg.sender, self, amount), "transfer failed"
    log Deposit(player=msg.sender, amount=amount)


@external
def withdraw(amount: uint256, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    assert block.timestamp <= deadline, "expired"
    assert not self.nonce_used[nonce], "nonce used"
    recovered: address = self._recover(self._digest(msg.sender, amount, nonce, deadline), signature)
    assert recovered != empty(address) and recovered == self.signer, "bad signature"
    self.nonce_used[nonce] = True
    assert extcall token.transfer(msg.sender, amount), "transfer failed"
    log Withdraw(player=msg.sender, amount=amount, nonce=nonce)


@external
def set_signer(new_signer: address):
    assert msg.sender == self.owner, "not owner"
    assert new_signer != empty(address), "zero address"
    log SignerChanged(previous_signer=self.signer, new_signer=new_signer)
    self.signer = new_signer


@external
def transfer_ownership(new_owner: address):
    assert msg.sender == self.owner, "not owner"
    assert new_owner != empty(address), "zero address"
    log OwnershipTransferred(previous_owner=self.owner, new_owner=new_owner)
    self.owner = new_owner
