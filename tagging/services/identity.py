"""Who is calling: the App Service authentication principal, or the local default."""
from __future__ import annotations

from ..core.keys import InvalidUserId, user_key
from ..core.vocabulary import ErrorCode, ErrorKind
from ..settings import Settings
from .errors import ServiceError

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL-ID"


def resolve_user(principal_id: str | None, settings: Settings) -> str:
    """The storage key of the calling user.

    ``principal_id`` is the X-MS-CLIENT-PRINCIPAL-ID header value (None when absent).
    It is used only when ``settings.trust_principal_header``; otherwise, or when it is
    absent, ``settings.default_user`` applies; with neither, the caller is refused.
    """
    candidate = principal_id.strip() if principal_id and settings.trust_principal_header else None
    if not candidate:
        candidate = settings.default_user
    if not candidate:
        raise ServiceError(
            ErrorKind.UNAUTHORIZED,
            ErrorCode.UNAUTHENTICATED,
            f"no caller identity: sign in through App Service authentication (it sets {PRINCIPAL_HEADER}), "
            "or set TAGGING_DEFAULT_USER for local development",
        )
    try:
        return user_key(candidate)
    except InvalidUserId as error:
        raise ServiceError(
            ErrorKind.INVALID, ErrorCode.INVALID_PRINCIPAL, f"{PRINCIPAL_HEADER} is not usable: {error}"
        ) from None
