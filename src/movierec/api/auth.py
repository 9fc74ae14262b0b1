"""Who may write a user's ratings: that user (their bearer token) or the admin key.

Tokens are made and checked by the engine (:mod:`movierec.engine.users`: only their SHA-256
reaches the store, compared in constant time); the admin key is compared here, also in
constant time. A request with no credentials gets 401, one with wrong credentials 403, in both
cases before anything is written.
"""

from __future__ import annotations

import hmac

from movierec.api.errors import AuthError
from movierec.engine.core import Engine


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None when absent)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'", 401)
    return token.strip()


def check_writer(
    engine: Engine,
    user_id: int,
    *,
    authorization: str | None,
    admin_key: str | None,
    configured_admin_key: str | None,
) -> None:
    """Pass when the caller is ``user_id`` or the admin; raise :class:`AuthError` otherwise."""
    token = bearer(authorization)
    if token is None and admin_key is None:
        raise AuthError(
            "writing ratings needs 'Authorization: Bearer <token>' (the user's "
            "token from POST /users) or 'X-Admin-Key'",
            401,
        )
    if admin_key is not None:
        if configured_admin_key and hmac.compare_digest(
            admin_key.encode(), configured_admin_key.encode()
        ):
            return
        raise AuthError("the admin key is wrong (or no admin key is configured)", 403)
    if not engine.token_matches(user_id, token or ""):
        raise AuthError(f"the token is not user {user_id}'s", 403)
