"""DingTalk's new-generation API (``api.dingtalk.com/v1.0``), as the official ``alibabacloud-dingtalk``
SDK speaks it, over the same store and the same tokens as the ``/topapi`` dialect (docs/dingtalk-v1.md)."""

#: Every path of the generation starts with it.
PREFIX = "/v1.0/"
#: The header the access token travels in (the bare token, no ``Bearer``).
TOKEN_HEADER = "x-acs-dingtalk-access-token"  # noqa: S105  (a header name, not a secret)
