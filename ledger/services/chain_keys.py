"""The Ed25519 keys that sign day heads: one signs, every listed one verifies (rotation by id).

A key id is the first 16 hex digits of SHA-256 of the raw 32-byte public key, so anyone can
recompute it from the published key. Keys are read as PEM or as 64 hex digits (the raw 32-byte
private seed or public key)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class KeyProblem(ValueError):
    """A configured key that cannot be read; the message is shown at start-up."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def parse_private(text: str) -> Ed25519PrivateKey:
    return _parse(
        text,
        "private",
        lambda pem: serialization.load_pem_private_key(pem, password=None),
        Ed25519PrivateKey,  # type: ignore[type-abstract]  # isinstance only, never built
        Ed25519PrivateKey.from_private_bytes,
    )


def parse_public(text: str) -> Ed25519PublicKey:
    return _parse(
        text,
        "public",
        serialization.load_pem_public_key,
        Ed25519PublicKey,  # type: ignore[type-abstract]  # isinstance only, never built
        Ed25519PublicKey.from_public_bytes,
    )


Key = TypeVar("Key", Ed25519PrivateKey, Ed25519PublicKey)


def _parse(
    text: str,
    which: str,
    load_pem: Callable[[bytes], object],
    kind: type[Key],
    from_raw: Callable[[bytes], Key],
) -> Key:
    """A key as PEM or as 64 hex digits (its raw 32 bytes); anything else is a KeyProblem."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem(text.encode())
            if not isinstance(key, kind):
                raise KeyProblem(f"the PEM {which} key is not an Ed25519 key")
            return key
        return from_raw(_raw32(text))
    except (ValueError, TypeError) as error:
        raise KeyProblem(f"not an Ed25519 {which} key (PEM or 64 hex digits): {error}") from None


def verify_signature(public: Ed25519PublicKey, payload: bytes, signature_hex: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class ChainKeys:
    """The signing key and every key whose past signatures still verify, by key id."""

    signing: Ed25519PrivateKey
    retired: tuple[Ed25519PublicKey, ...] = ()
    by_id: dict[str, Ed25519PublicKey] = field(init=False)

    def __post_init__(self) -> None:
        keys = {key_id_of(k): k for k in (self.signing.public_key(), *self.retired)}
        object.__setattr__(self, "by_id", keys)

    @classmethod
    def from_config(cls, private: str, retired: Sequence[str] = ()) -> ChainKeys:
        return cls(parse_private(private), tuple(parse_public(text) for text in retired))

    @classmethod
    def derived(
        cls, secret: bytes, retired: Sequence[str] = (), older: Sequence[bytes] = ()
    ) -> ChainKeys:
        """A demo or development key from the deployment's secret (like the QR keys): stable
        across restarts, never shared with another deployment.

        `older` are the other QR secrets still listed (GREENLEDGER_QR_KEYS after a rotation):
        the keys derived from them keep verifying the heads they signed, so rotating the QR
        keys does not make every published head fail `verify` and check-receipt."""
        return cls(
            _derived_private(secret),
            tuple(parse_public(text) for text in retired)
            + tuple(_derived_private(old).public_key() for old in older if old != secret),
        )

    @property
    def key_id(self) -> str:
        return key_id_of(self.signing.public_key())

    def sign(self, payload: bytes) -> str:
        return self.signing.sign(payload).hex()

    def verify(self, key_id: str, payload: bytes, signature_hex: str) -> bool:
        key = self.by_id.get(key_id)
        return key is not None and verify_signature(key, payload, signature_hex)

    def published(self) -> list[tuple[str, str, bool]]:
        """(key id, raw public key in hex, whether it signs new heads), the signing key first."""
        return [(kid, raw_public(k).hex(), kid == self.key_id) for kid, k in self.by_id.items()]


def _derived_private(secret: bytes) -> Ed25519PrivateKey:
    seed = hmac.new(secret, b"chain-head:ed25519", hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _raw32(text: str) -> bytes:
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("expected 32 bytes (64 hex digits)")
    return raw
