"""The encrypted model file format (``.fwenc``), AES-256-GCM.

Layout, all integers big-endian::

    magic        8 bytes   b"FWMODEL" + format version (0x01)
    header_len   4 bytes   length of the header
    header       JSON, UTF-8: {"alg": "AES-256-GCM", "key_id": str, "format": str,
                 "plain_size": int}
    nonce       12 bytes   random, never reused with the same key
    ciphertext   plain_size bytes, followed by the 16-byte GCM tag

Everything before the ciphertext is the GCM associated data, so the header (key id,
model format) cannot be altered without decryption failing. ``encrypt_model`` is called by
``framewire models encrypt``; ``decrypt_model`` by the loader, in memory only.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from framewire.core.errors import ModelError

MAGIC = b"FWMODEL\x01"
ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# A header is a few dozen bytes; anything huge means this is not our file.
MAX_HEADER = 4096


@dataclass(frozen=True)
class EncryptedHeader:
    key_id: str
    format: str
    plain_size: int


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def encrypt_model(plain: bytes, key: bytes, *, key_id: str, model_format: str) -> bytes:
    """Encrypt model bytes into the ``.fwenc`` layout."""
    _check_key(key)
    header = json.dumps(
        {"alg": ALGORITHM, "key_id": key_id, "format": model_format, "plain_size": len(plain)},
        sort_keys=True,
    ).encode()
    nonce = os.urandom(NONCE_BYTES)
    aad = MAGIC + struct.pack(">I", len(header)) + header + nonce
    return aad + AESGCM(key).encrypt(nonce, plain, aad)


def read_header(blob: bytes) -> tuple[EncryptedHeader, int]:
    """Parse the header; returns it and the offset where the ciphertext starts."""
    if not blob.startswith(MAGIC[:7]):
        raise ModelError("not an encrypted framewire model (bad magic)")
    if blob[7:8] != MAGIC[7:8]:
        raise ModelError(f"encrypted model format version {blob[7]} is not supported (want 1)")
    if len(blob) < 12:
        raise ModelError("encrypted model is truncated inside its header")
    (size,) = struct.unpack(">I", blob[8:12])
    if size > MAX_HEADER or len(blob) < 12 + size + NONCE_BYTES + TAG_BYTES:
        raise ModelError("encrypted model is truncated or its header is corrupt")
    try:
        fields = json.loads(blob[12 : 12 + size])
        if fields["alg"] != ALGORITHM:
            raise ModelError(f"encrypted model uses {fields['alg']!r}; only {ALGORITHM}")
        header = EncryptedHeader(str(fields["key_id"]), str(fields["format"]), int(fields["plain_size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"encrypted model header is malformed: {exc}") from None
    return header, 12 + size + NONCE_BYTES


def decrypt_model(blob: bytes, key: bytes) -> tuple[EncryptedHeader, bytes]:
    """Authenticate and decrypt; a wrong key or any altered byte raises ModelError."""
    _check_key(key)
    header, start = read_header(blob)
    aad, nonce = blob[:start], blob[start - NONCE_BYTES : start]
    if len(blob) - start != header.plain_size + TAG_BYTES:
        raise ModelError(
            f"encrypted model is truncated: {len(blob) - start - TAG_BYTES} of {header.plain_size} bytes"
        )
    try:
        plain = AESGCM(key).decrypt(nonce, blob[start:], aad)
    except InvalidTag:
        raise ModelError(
            f"cannot decrypt model (key id {header.key_id!r}): wrong key or the file was altered"
        ) from None
    return header, plain


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ModelError(f"an AES-256 key is {KEY_BYTES} bytes, got {len(key)}")
