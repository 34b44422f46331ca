"""The official DingTalk ``/v1.0`` SDK (``alibabacloud-dingtalk``) pointed at an openroster server.

The SDK needs no change but its endpoint (docs/dingtalk-v1.md)::

    from alibabacloud_dingtalk.hrm_1_0.client import Client as HrmClient
    from openroster.testing.dingtalk_v1 import sdk_client, sdk_token

    hrm = sdk_client(HrmClient, "http://127.0.0.1:8000")
    token = sdk_token("http://127.0.0.1:8000", "demo-dingtalk", "demo-dingtalk-secret")

The SDK is not a dependency of openroster: install it beside (``pip install
alibabacloud-dingtalk==2.2.65``); these helpers import it when called. Under pytest, the plugin's
tenant has the same two for its DingTalk app: ``openroster_tenant.dingtalk_v1_client(HrmClient)``
and ``openroster_tenant.dingtalk_v1_token()``.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

C = TypeVar("C")


def sdk_config(base_url: str) -> Any:
    """The SDK's ``Config`` for the server at ``base_url`` (``http://HOST:PORT`` or ``https://...``)."""
    from alibabacloud_tea_openapi.models import Config  # type: ignore[import-untyped]

    parts = urlsplit(base_url)
    return Config(protocol=parts.scheme or "http", endpoint=parts.netloc)


def sdk_client(client_type: type[C], base_url: str) -> C:
    """A client of the SDK (``hrm_1_0``, ``contact_1_0``, ... ``Client``) for the server at ``base_url``."""
    return client_type(sdk_config(base_url))  # type: ignore[call-arg]


def sdk_token(base_url: str, app_key: str, app_secret: str) -> str:
    """The app's access token, as the SDK's ``oauth2_1_0`` ``GetAccessToken`` asks for it (the same
    token ``/gettoken`` hands out)."""
    from alibabacloud_dingtalk.oauth2_1_0 import models  # type: ignore[import-untyped]
    from alibabacloud_dingtalk.oauth2_1_0.client import Client  # type: ignore[import-untyped]

    request = models.GetAccessTokenRequest(app_key=app_key, app_secret=app_secret)
    return str(Client(sdk_config(base_url)).get_access_token(request).body.access_token)
