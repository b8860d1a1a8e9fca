"""Password hashes for the dashboard's login: scrypt, salted, compared in constant time.

On the monitor side, free of Streamlit, so ``python -m monitor hash-password`` produces one without
loading the dashboard, and the dashboard checks it with the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_LENGTH = 8


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * n * r
    )


def hash_password(password: str) -> str:
    """``scrypt:N:r:p:salt:hash``; no ``$`` in it, so it needs no quoting in a shell or .env."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"use at least {MIN_LENGTH} characters")
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, 32)
    return f"{SCHEME}:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{_b64(salt)}:{_b64(digest)}"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, encoded: str) -> PasswordHash:
        """Read a stored hash; a malformed one is a configuration error worth a clear message."""
        parts = encoded.strip().split(":")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError(
                "VIGIE_DASHBOARD_PASSWORD_HASH is not a Vigie password hash "
                "(produce one with: python -m monitor hash-password)"
            )
        try:
            n, r, p = (int(x) for x in parts[1:4])
            if n < 2 or n & (n - 1) or r < 1 or p < 1:
                raise ValueError
            return cls(n, r, p, _unb64(parts[4]), _unb64(parts[5]))
        except ValueError:
            raise ValueError("VIGIE_DASHBOARD_PASSWORD_HASH is damaged: produce it again") from None

    def matches(self, password: str) -> bool:
        candidate = _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)
