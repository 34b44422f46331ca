"""Clients for the APIs openroster speaks; they work against the real platforms too.

- :class:`WpsClient` / :class:`AsyncWpsClient`: WPS 365 OpenAPI v7 contacts (tokens, KSO-1 /
  WPS-4 / WPS-4-GM signing, paging).
- :class:`DingTalkClient` / :class:`AsyncDingTalkClient`: DingTalk oapi / topapi roster and contacts.

Both cache tokens, refresh them before they expire (and once more when the platform
says a token is invalid), retry throttled and transient failures with backoff, and
raise the exceptions of :mod:`openroster.client.errors`. See docs/sdk.md.

:mod:`openroster.client.events` receives change events (WPS event subscriptions, DingTalk
HTTP callbacks); see docs/events.md.
"""

from openroster.client.dingtalk import AsyncDingTalkClient, DingTalkClient
from openroster.client.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    EventDecryptionError,
    EventError,
    EventFormatError,
    EventSignatureError,
    InvalidRequestError,
    NotFoundError,
    OpenrosterClientError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    TransportError,
)
from openroster.client.retry import RetryPolicy
from openroster.client.transport import Page
from openroster.client.wps import AsyncWpsClient, WpsClient

__all__ = [
    "ApiError",
    "AsyncDingTalkClient",
    "AsyncWpsClient",
    "AuthenticationError",
    "ConflictError",
    "DingTalkClient",
    "EventDecryptionError",
    "EventError",
    "EventFormatError",
    "EventSignatureError",
    "InvalidRequestError",
    "NotFoundError",
    "OpenrosterClientError",
    "Page",
    "PermissionDeniedError",
    "RetryPolicy",
    "ServerError",
    "ThrottledError",
    "TransportError",
    "WpsClient",
]
