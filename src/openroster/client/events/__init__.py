"""Receiving change events: WPS 365 event subscriptions and DingTalk HTTP callbacks.

- :mod:`openroster.client.events.wps`: the envelope's signature and encryption, the URL
  challenge, and :class:`WpsEventReceiver` (an ASGI app).
- :mod:`openroster.client.events.dingtalk`: DingTalk's callback crypto (encrypt, decrypt, sign,
  verify, the ``success`` reply, ``check_url``) and :class:`DingTalkCallbackReceiver`.

They work against the real platforms as well as openroster. The pure protocol is defined in
:mod:`openroster.dialects.wps.event_crypto` and :mod:`openroster.dialects.dingtalk.callback_crypto`
(the server's senders use it too) and re-exported here. Failed checks raise the
:class:`~openroster.client.errors.EventError` family. See docs/events.md.
"""

from openroster.client.events.dingtalk import CallbackKeys, DingTalkCallbackReceiver, DingTalkEvent
from openroster.client.events.wps import WpsEvent, WpsEventReceiver

__all__ = ["CallbackKeys", "DingTalkCallbackReceiver", "DingTalkEvent", "WpsEvent", "WpsEventReceiver"]
