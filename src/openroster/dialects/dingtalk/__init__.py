"""The DingTalk dialect: ``gettoken`` and the legacy server API (``/topapi``): HR roster and contacts."""

from __future__ import annotations

from openroster.dialects.dingtalk.dialect import DINGTALK

__all__ = ["DINGTALK", "owns"]


def owns(path: str) -> bool:
    """Whether ``path`` belongs to the DingTalk dialect (its errors answer in its envelope)."""
    return DINGTALK.owns(path)
