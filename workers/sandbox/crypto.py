"""The host side of ``secutils.crypto.seal`` and ``crypto.subtle``
(digest, HMAC), with the ``cryptography`` library.

``seal`` is secutils' ECIES sealed box (op_crypto_seal.rs): ECDH P-256 with
a fresh ephemeral key, HKDF-SHA256 (salt = recipient key, info = ephemeral
key, both raw 65-byte SEC1), AES-256-GCM with a 12-byte IV and no AAD;
output ``ephemeral(65) || iv(12) || ciphertext || tag(16)`` as unpadded
base64url. WebCrypto can open it (tests/workers/test_host_calls.py does).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workers.store.kv.store import b64url_decode, b64url_encode

__all__ = ["SealError", "digest", "hmac_sign", "seal"]

_HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_RAW = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


class SealError(ValueError):
    """The recipient key is unusable; the message is secutils' text."""


def seal(recipient_b64: str, plaintext: str) -> str:
    try:
        recipient = b64url_decode(recipient_b64)
    except ValueError as exc:
        raise SealError(f"Invalid recipient public key (base64): {exc}") from exc
    if len(recipient) != 65 or recipient[0] != 4:
        raise SealError("Recipient public key must be a 65-byte SEC1 uncompressed P-256 key.")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), recipient)
    except ValueError as exc:
        raise SealError(f"Invalid recipient public key (point): {exc}") from exc
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    ephemeral_raw = ephemeral.public_key().public_bytes(*_RAW)
    shared = ephemeral.exchange(ec.ECDH(), public)
    key = HKDF(hashes.SHA256(), 32, salt=recipient, info=ephemeral_raw).derive(shared)
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, plaintext.encode("utf-8", "replace"), None)
    return b64url_encode(ephemeral_raw + iv + sealed)


def digest(hash_name: str, data: bytes) -> bytes:
    return hashlib.new(_HASHES[hash_name], data).digest()


def hmac_sign(hash_name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, _HASHES[hash_name]).digest()


def hash_known(hash_name: object) -> bool:
    return isinstance(hash_name, str) and hash_name in _HASHES
