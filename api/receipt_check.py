"""`greenledger check-receipt`: check a receipt with no access to the database.

The receipt comes from a file, from a receipt link (`/log/check?r=…`, the receipt in the
link), or from a URL that answers its JSON. The heads and keys come from the server (the one
named by --server, else the URL's origin) or from files (--heads, --key) for an offline check.
Every step is redone here: the entry hash from the entry's fields, the audit path to the root,
the root against the published head, the head's Ed25519 signature, the key id from the key.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.parse
import urllib.request
import zlib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ledger.domain.receipts import DayHead, ReceiptRefused, check_receipt, head_payload
from ledger.services.chain_keys import KeyProblem, key_id_of, parse_public, verify_signature

TIMEOUT_SECONDS = 15
RECEIPT_PARAM = "r"


def encode_receipt(receipt: Mapping[str, Any]) -> str:
    """The receipt as one URL-safe token (compact JSON, deflated, base64url without padding),
    for a link or a QR code."""
    text = json.dumps(receipt, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(text, 9)).decode().rstrip("=")


def decode_receipt(token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(zlib.decompress(raw, bufsize=1 << 16))
    except (ValueError, zlib.error) as error:
        raise ReceiptRefused(f"the receipt in the link cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise ReceiptRefused("the receipt is not a JSON object")
    return data


def heads_from(document: Any) -> list[DayHead]:
    """The heads of a /api/v1/chain/heads answer."""
    try:
        return [
            DayHead(
                day=date.fromisoformat(item["day"]),
                tree_size=int(item["tree_size"]),
                root=str(item["root"]),
                key_id=str(item["key_id"]),
                signature=str(item["signature"]),
            )
            for item in document["items"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise ReceiptRefused(f"the published heads are malformed: {error}") from None


def check_signature(head: DayHead, keys_document: Any) -> str:
    """The head's signature by the published key it names; returns the key id. The key id is
    recomputed from the key, so a key listed under another key's id is not believed."""
    try:
        listed = {str(k["key_id"]): str(k["public_key"]) for k in keys_document["keys"]}
    except (KeyError, TypeError) as error:
        raise ReceiptRefused(f"the published keys are malformed: {error}") from None
    if head.key_id not in listed:
        raise ReceiptRefused(
            f"the head of {head.day} names key {head.key_id}, not published", "key"
        )
    try:
        public = parse_public(listed[head.key_id])
    except KeyProblem as problem:
        raise ReceiptRefused(f"key {head.key_id}: {problem}", "key") from None
    if key_id_of(public) != head.key_id:
        raise ReceiptRefused(f"key {head.key_id} is not the key its id is made from", "key")
    payload = head_payload(head.day, head.tree_size, head.root)
    if not verify_signature(public, payload, head.signature):
        raise ReceiptRefused(
            f"the signature of the head of {head.day} does not verify", "signature"
        )
    return head.key_id


def check_all(receipt: Mapping[str, Any], heads: Any, keys: Any) -> DayHead:
    """Every check, in order; the head the receipt is proven against, or ReceiptRefused."""
    head = check_receipt(receipt, heads_from(heads))
    check_signature(head, keys)
    return head


def read_receipt(source: str) -> tuple[dict[str, Any], str | None]:
    """The receipt, and the origin of the server it came from (None for a file)."""
    if not source.startswith(("http://", "https://")):
        return _json(Path(source).read_text(encoding="utf-8"), source), None
    parts = urllib.parse.urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    token = urllib.parse.parse_qs(parts.query).get(RECEIPT_PARAM)
    if token:
        return decode_receipt(token[0]), origin
    return _json(_get(source), source), origin


def run(source: str, server: str | None, heads_file: Path | None, key_file: Path | None) -> int:
    """The command: 0 and one line when the receipt checks, else 1 and why."""
    try:
        receipt, origin = read_receipt(source)
        base = (server or origin or "").rstrip("/")
        if (heads_file is None or key_file is None) and not base:
            raise ReceiptRefused("give --server, or --heads and --key, to check a receipt file")
        day = str(receipt.get("day", ""))
        heads = (
            _json(heads_file.read_text(encoding="utf-8"), str(heads_file))
            if heads_file
            else _json(_get(f"{base}/api/v1/chain/heads?from={day}&to={day}"), "heads")
        )
        keys = (
            _json(key_file.read_text(encoding="utf-8"), str(key_file))
            if key_file
            else _json(_get(f"{base}/api/v1/chain/key"), "keys")
        )
        head = check_all(receipt, heads, keys)
    except (ReceiptRefused, OSError) as error:
        print(f"greenledger: receipt NOT verified: {error}", file=sys.stderr)
        return 1
    entry = receipt["entry"]
    print(
        f"receipt verified: entry {receipt['entry_id']} ({entry['amount_points']} points, "
        f"accounts {entry['debit_account_id']} → {entry['credit_account_id']}) is leaf "
        f"{receipt['leaf_index']} of the {head.tree_size} entries sealed on {head.day}, "
        f"whose head is signed by key {head.key_id}"
    )
    return 0


def _get(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ReceiptRefused(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        return str(response.read().decode("utf-8"))


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise ReceiptRefused(f"{where} is not JSON: {error}") from None
