"""Who may write a user's ratings: that user (their bearer token) or the admin key.

A write route takes :data:`Credentials` (the ``Authorization`` and ``X-Admin-Key`` headers,
declared here once) and calls :meth:`WriteCredentials.check` with the user it writes for.
Tokens are made and checked by the engine (:mod:`movierec.engine.users`: only their SHA-256
reaches the store, compared in constant time); the admin key is compared here, also in
constant time. A request with no credentials gets 401, one with wrong credentials 403, in both
cases before anything is written.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header

from movierec.api.errors import AuthError
from movierec.api.service import Svc


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None when absent)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'", 401)
    return token.strip()


class WriteCredentials:
    """What a write request presents: its bearer token and admin key (a FastAPI dependency).

    The handler calls :meth:`check` itself, so the checks run after FastAPI has validated the
    body (a malformed request is a 422 whoever sends it) and before anything is written.
    """

    def __init__(
        self,
        svc: Svc,
        authorization: Annotated[str | None, Header(description="Bearer <token>")] = None,
        x_admin_key: Annotated[str | None, Header()] = None,
    ):
        self._svc = svc
        self.authorization = authorization
        self.admin_key = x_admin_key

    def check(self, user_id: int) -> None:
        """Pass when the caller is ``user_id`` or the admin; raise :class:`AuthError` otherwise."""
        token = bearer(self.authorization)
        if token is None and self.admin_key is None:
            raise AuthError(
                "writing ratings needs 'Authorization: Bearer <token>' (the user's "
                "token from POST /users) or 'X-Admin-Key'",
                401,
            )
        if self.admin_key is not None:
            configured = self._svc.settings.admin_key
            if configured and hmac.compare_digest(self.admin_key.encode(), configured.encode()):
                return
            raise AuthError("the admin key is wrong (or no admin key is configured)", 403)
        if not self._svc.engine.token_matches(user_id, token or ""):
            raise AuthError(f"the token is not user {user_id}'s", 403)


#: a write route's parameter: the request's credentials, checked by the handler for its user
Credentials = Annotated[WriteCredentials, Depends()]
