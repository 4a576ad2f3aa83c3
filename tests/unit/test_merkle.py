"""The daily tree: RFC 6962's shape, audit paths checked by an independent RFC 9162 verifier.

The helpers below never call ledger.domain.merkle: `_mth` is RFC 6962 §2.1's definition and
`_rfc9162_root` RFC 9162 §2.1.3.2's verification algorithm, both written from the RFCs' text.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import merkle


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mth(entries: list[bytes]) -> bytes:
    """RFC 6962 §2.1: MTH(D[n]) with k the largest power of two smaller than n."""
    if len(entries) == 1:
        return _sha(b"\x00" + entries[0])
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return _sha(b"\x01" + _mth(entries[:k]) + _mth(entries[k:]))


def _rfc9162_root(leaf_index: int, tree_size: int, entry: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2 steps 1-6, as written; None where the RFC says "fail"."""
    if leaf_index >= tree_size:
        return None
    fn = leaf_index
    sn = tree_size - 1
    r = _sha(b"\x00" + entry)
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _sha(b"\x01" + p + r)
            if fn % 2 == 0:
                while True:
                    fn = fn // 2
                    sn = sn // 2
                    if fn % 2 == 1 or fn == 0:
                        break
        else:
            r = _sha(b"\x01" + r + p)
        fn = fn // 2
        sn = sn // 2
    return r if sn == 0 else None


def _entries(n: int) -> list[bytes]:
    return [_sha(f"entry {i}".encode()) for i in range(n)]


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


@pytest.mark.parametrize("size", range(1, 71))
def test_every_leaf_of_every_size_verifies_independently(size: int) -> None:
    entries = _entries(size)
    root = merkle.root(entries)
    assert root == _mth(entries)
    for index, entry in enumerate(entries):
        path = merkle.audit_path(entries, index)
        assert _rfc9162_root(index, size, entry, path) == root
        assert merkle.verify_inclusion(entry, index, size, path, root)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 70])
def test_tampering_fails(size: int) -> None:
    entries = _entries(size)
    root = merkle.root(entries)
    for index, entry in enumerate(entries):
        path = merkle.audit_path(entries, index)
        assert not merkle.verify_inclusion(_flip(entry), index, size, path, root)
        assert not merkle.verify_inclusion(entry, index, size, path, _flip(root))
        for at in range(len(path)):
            bad = [*path[:at], _flip(path[at]), *path[at + 1 :]]
            assert not merkle.verify_inclusion(entry, index, size, bad, root)
            assert _rfc9162_root(index, size, entry, bad) != root
        for other in range(size):
            if other != index:
                assert not merkle.verify_inclusion(entry, other, size, path, root)
        # (A wrong tree size can still lead to the root for a leaf of a complete left
        # subtree: the size is bound by the signed head, which check-receipt compares.)
        assert not merkle.verify_inclusion(entry, index, size, [*path, root], root)
        if path:
            assert not merkle.verify_inclusion(entry, index, size, path[:-1], root)


def test_one_leaf_tree_is_its_leaf_hash() -> None:
    entry = _entries(1)[0]
    assert merkle.root([entry]) == _sha(b"\x00" + entry)
    assert merkle.audit_path([entry], 0) == []


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        merkle.root([])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.leaf_hash(b"short")
    with pytest.raises(ValueError, match="outside the tree"):
        merkle.audit_path(_entries(3), 3)
    assert not merkle.verify_inclusion(_entries(1)[0], -1, 1, [], merkle.root(_entries(1)))


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), st.data())
def test_any_tree_any_leaf(entries: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(entries) - 1))
    path = merkle.audit_path(entries, index)
    assert _rfc9162_root(index, len(entries), entries[index], path) == _mth(entries)
