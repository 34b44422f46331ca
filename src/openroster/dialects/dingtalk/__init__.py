"""The DingTalk dialect: ``gettoken`` and the legacy server API (``/topapi``): HR roster and contacts."""

from __future__ import annotations

from fastapi import FastAPI

from openroster.dialects.dingtalk import auth, contacts, roster  # noqa: F401  (they register routes)
from openroster.dialects.dingtalk.endpoint import http_error, internal_error, mount, owns

__all__ = ["http_error", "install", "internal_error", "owns"]


def install(api: FastAPI) -> None:
    auth.mount(api)
    mount(api)
