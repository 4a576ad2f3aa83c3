"""The daily Merkle tree of the transparency log (RFC 6962 §2.1, RFC 9162 §2.1).

Leaves are the entries' chain hashes (32 bytes each, as `chain.seal_hash` computes them) in
`seal_no` order. Leaf hash = SHA-256(0x00 ‖ entry hash), node hash = SHA-256(0x01 ‖ left ‖
right); the tree of n leaves splits at the largest power of two below n (RFC 6962's MTH), so
any size works and a receipt checks with any RFC 9162 verifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_BYTES = 32


def leaf_hash(entry_hash: bytes) -> bytes:
    """The leaf of one entry: its 32-byte chain hash, domain-separated from nodes."""
    if len(entry_hash) != HASH_BYTES:
        raise ValueError("an entry hash is 32 bytes")
    return hashlib.sha256(LEAF_PREFIX + entry_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def _root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(_root_of_leaves(leaves[:k]), _root_of_leaves(leaves[k:]))


def root(entry_hashes: Sequence[bytes]) -> bytes:
    """MTH of the entries' hashes. A day with no entries has no head, so none is asked for."""
    if not entry_hashes:
        raise ValueError("a tree has at least one leaf")
    return _root_of_leaves([leaf_hash(h) for h in entry_hashes])


def audit_path(entry_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the siblings from the leaf up to the root."""
    if not 0 <= index < len(entry_hashes):
        raise ValueError("leaf index outside the tree")
    return _path([leaf_hash(h) for h in entry_hashes], index)


def _path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(leaves[:k], index), _root_of_leaves(leaves[k:])]
    return [*_path(leaves[k:], index - k), _root_of_leaves(leaves[:k])]


def root_from_path(entry_hash: bytes, index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that `path` leads to from the leaf at `index`, or
    ValueError if the path cannot belong to a tree of `tree_size` leaves."""
    if not 0 <= index < tree_size:
        raise ValueError("leaf index outside the tree")
    fn, sn = index, tree_size - 1
    r = leaf_hash(entry_hash)
    for p in path:
        if len(p) != HASH_BYTES:
            raise ValueError("a path element is 32 bytes")
        if sn == 0:
            raise ValueError("audit path longer than the tree")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path shorter than the tree")
    return r


def verify_inclusion(
    entry_hash: bytes, index: int, tree_size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """True when the entry is leaf `index` of the tree of `tree_size` leaves whose root is
    `expected_root`; any malformed input is simply "not proven"."""
    try:
        return root_from_path(entry_hash, index, tree_size, path) == expected_root
    except ValueError:
        return False
