"""Hyperliquid's L1 action signature, as the fake checks it: the hash of an action and the address that signed it.

An ``/exchange`` request carries ``{action, nonce, signature: {r, s, v}, vaultAddress?, expiresAfter?}``. Its
signer is recovered, never looked up: a wrong key signs a valid signature of another address (Hyperliquid's
documentation, "Signing"), which the venue then does not know. The hash (the "connection id"):

    keccak256(msgpack(action) || nonce as u64 big-endian || 0x00 | 0x01 vault[20] || [0x00 expiresAfter u64])

signed as the EIP-712 message ``Agent{source: string, connectionId: bytes32}`` (``source`` ``"a"`` on mainnet,
``"b"`` on the testnet) in the domain ``{name: "Exchange", version: "1", chainId: 1337, verifyingContract:
0x0}``. The SDK's own vector (``tests/signing_test.py``): key ``0x0123456789`` + ``"0123456789" * 5`` +
``"0123"``, the order ``a=1`` buy 100 at 100 Gtc, nonce 0, mainnet: ``r=0xd65369825a...``, ``s=0x2b54116ff6...``,
``v=28``.

``eth-account`` (the EIP-712 encoding and the recovery) and ``msgpack`` (the action's bytes) are imported here,
when first used, so that arb imports without them (they are the ``test`` extra's). A private key handed to
:func:`sign_l1_action` is never logged or kept.
"""

from __future__ import annotations

__all__ = ["SignatureError", "action_hash", "recover_signer", "sign_l1_action", "typed_data"]

from collections.abc import Mapping
from typing import Any

_DOMAIN = {"name": "Exchange", "version": "1", "chainId": 1337, "verifyingContract": "0x" + "00" * 20}
_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Agent": [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}],
}


class SignatureError(ValueError):
    """A signature that cannot be read (not r, s and v of the right sizes) or recovered."""


def action_hash(action: Mapping[str, Any], nonce: int, vault_address: str | None = None,
                expires_after: int | None = None) -> bytes:  # fmt: skip
    """The 32-byte keccak hash an L1 action is signed over (see the module's docstring). ``action`` keeps the
    key order it came with (msgpack packs a map in its order: the order is part of what is signed)."""
    import msgpack  # type: ignore[import-untyped]  # no stubs; the test extra's, imported when first used
    from eth_utils.crypto import keccak  # eth-account's dependency

    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return bytes(keccak(data))


def typed_data(connection_id: bytes, *, mainnet: bool = True) -> dict[str, Any]:
    """The EIP-712 message of an L1 action's hash, as ``eth_account.messages.encode_typed_data`` takes it."""
    return {"types": _TYPES, "primaryType": "Agent", "domain": _DOMAIN,
            "message": {"source": "a" if mainnet else "b", "connectionId": connection_id}}  # fmt: skip


def recover_signer(connection_id: bytes, signature: Mapping[str, Any], *, mainnet: bool = True) -> str:
    """The address (lower-case ``0x`` hex) that signed ``connection_id`` with ``signature`` ``{r, s, v}`` (r and s
    ``0x`` hex, v 27 or 28); :class:`SignatureError` when it cannot be read."""
    from eth_account import Account  # the test extra's, imported when first used
    from eth_account.messages import encode_typed_data

    try:
        r, s, v = int(str(signature["r"]), 16), int(str(signature["s"]), 16), int(signature["v"])
        if not (0 < r < 1 << 256 and 0 < s < 1 << 256 and v in (27, 28)):
            raise ValueError("r, s or v out of range")
        message = encode_typed_data(full_message=typed_data(connection_id, mainnet=mainnet))
        address = Account.recover_message(message, vrs=(v, r, s))
    except (KeyError, TypeError, ValueError) as error:
        raise SignatureError(f"unreadable signature: {error}") from None
    return str(address).lower()


def sign_l1_action(private_key: str, action: Mapping[str, Any], nonce: int, *, vault_address: str | None = None,
                   expires_after: int | None = None, mainnet: bool = True) -> dict[str, Any]:  # fmt: skip
    """``{r, s, v}`` of ``action`` signed with ``private_key`` (``0x`` hex), as a client sends it: what the tests
    and the test kit sign with. The key is used and dropped."""
    from eth_account import Account  # the test extra's, imported when first used
    from eth_account.messages import encode_typed_data

    connection_id = action_hash(action, nonce, vault_address, expires_after)
    message = encode_typed_data(full_message=typed_data(connection_id, mainnet=mainnet))
    signed = Account.sign_message(message, private_key=private_key)
    return {"r": f"0x{signed.r:064x}", "s": f"0x{signed.s:064x}", "v": int(signed.v)}
