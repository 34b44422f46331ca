"""A small client for the emulator's control API (``/_openroster/``), for tests and scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson


class ControlError(Exception):
    """The control API refused a call: ``status``, ``code`` and the ``message`` naming the field."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class ControlClient:
    """Every control-plane call, as a method. ``admin_token`` is the server's ``--admin-token``."""

    def __init__(self, base_url: str, admin_token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + "/_openroster",
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """One call; the parsed reply (``None`` for 204), or :class:`ControlError`."""
        body = content if content is not None else (orjson.dumps(json) if json is not None else None)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        resp = self._http.request(method, path, content=body, params=clean, headers=headers)
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
            except (ValueError, KeyError, TypeError):
                raise ControlError(resp.status_code, "http_error", resp.text[:500]) from None
            raise ControlError(
                resp.status_code, err.get("code", ""), err.get("message", ""), err.get("field")
            )
        if resp.status_code == 204 or not resp.content:
            return None
        return orjson.loads(resp.content)

    # -- server ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self.call("GET", "/health"))

    def version(self) -> dict[str, Any]:
        return dict(self.call("GET", "/version"))

    def reset_everything(self, *, to: str = "empty") -> dict[str, Any]:
        return dict(self.call("POST", "/reset", json={"to": to}))

    # -- tenants ------------------------------------------------------------------------------

    def create_tenant(
        self,
        tenant_id: str | None = None,
        *,
        name: str | None = None,
        apps: list[dict[str, Any]] | None = None,
        seed: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """``{"tenant": {...}, "apps": [credentials...]}``."""
        body = {"id": tenant_id, "name": name, "apps": apps or [], "seed": seed, **fields}
        return dict(self.call("POST", "/tenants", json={k: v for k, v in body.items() if v is not None}))

    def tenants(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/tenants"))

    def tenant(self, tenant_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/tenants/{tenant_id}"))

    def delete_tenant(self, tenant_id: str) -> None:
        self.call("DELETE", f"/tenants/{tenant_id}")

    def add_app(self, tenant_id: str, **spec: Any) -> dict[str, Any]:
        return dict(self.call("POST", f"/tenants/{tenant_id}/apps", json=spec))

    def rotate_secret(
        self, tenant_id: str, client_id: str, *, client_secret: str | None = None
    ) -> dict[str, Any]:
        """Give an app a new secret (every token issued before stops working); its new credentials."""
        body = {"client_secret": client_secret} if client_secret is not None else {}
        return dict(self.call("POST", f"/tenants/{tenant_id}/apps/{client_id}/rotate-secret", json=body))

    def set_scopes(self, tenant_id: str, client_id: str, scopes: list[str]) -> dict[str, Any]:
        """Replace an app's scopes (WPS subscribers of the app get ``kso.contact.permission_setting``)."""
        return dict(
            self.call("PUT", f"/tenants/{tenant_id}/apps/{client_id}/scopes", json={"scopes": scopes})
        )

    def reset_tenant(self, tenant_id: str, *, to: str = "empty") -> dict[str, Any]:
        return dict(self.call("POST", f"/tenants/{tenant_id}/reset", json={"to": to}))

    # -- snapshots ----------------------------------------------------------------------------------

    def export_snapshot(self, tenant_id: str | None = None, *, secrets: bool = False) -> bytes:
        """The snapshot document's bytes (of one tenant, or of everything)."""
        path = f"/tenants/{tenant_id}/snapshot" if tenant_id is not None else "/snapshot"
        resp = self._http.get(path, params={"secrets": "true"} if secrets else None)
        if resp.status_code >= 400:
            self.call("GET", path)  # raises the ControlError
        return resp.content

    def import_snapshot(
        self, snapshot: bytes | Mapping[str, Any], tenant_id: str | None = None
    ) -> dict[str, Any]:
        path = f"/tenants/{tenant_id}/snapshot" if tenant_id is not None else "/snapshot"
        content = snapshot if isinstance(snapshot, bytes) else orjson.dumps(snapshot)
        return dict(self.call("PUT", path, content=content))

    # -- journal -----------------------------------------------------------------------------------------

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Entries, oldest first.

        Filters: tenant, app, path, code, status, dialect, method, since, after, limit.
        """
        return list(self.call("GET", "/journal", params=filters)["entries"])

    def journal_count(self, **filters: Any) -> int:
        return int(self.call("GET", "/journal", params={**filters, "count": True})["count"])

    def clear_journal(self, *, tenant: str | None = None) -> int:
        return int(self.call("DELETE", "/journal", params={"tenant": tenant})["deleted"])

    # -- faults ------------------------------------------------------------------------------------------

    def add_fault(
        self, action: str, *, match: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Add a rule: ``add_fault("error", match={"path": "/v7/*"}, code=42900001, times=2)``."""
        return dict(
            self.call("POST", "/faults", json={"action": action, "match": dict(match or {}), **fields})
        )

    def faults(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/faults"))

    def delete_fault(self, fault_id: str) -> None:
        self.call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> int:
        return int(self.call("DELETE", "/faults")["deleted"])

    # -- clock -------------------------------------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        return dict(self.call("GET", "/clock"))

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return dict(self.call("PUT", "/clock", json={"advance": seconds}))

    def set_clock(self, moment: str | float) -> dict[str, Any]:
        return dict(self.call("PUT", "/clock", json={"set": moment}))

    def real_time(self) -> dict[str, Any]:
        return dict(self.call("PUT", "/clock", json={"real_time": True}))

    # -- change events -----------------------------------------------------------------------------------

    def subscribe(
        self, tenant_id: str, kind: str, app: str, url: str | None, **fields: Any
    ) -> dict[str, Any]:
        """Subscribe a receiver (after its challenge / ``check_url``): ``subscribe(t, "wps", client_id,
        url, topics=[...])`` or ``subscribe(t, "dingtalk", appkey, url, token=..., aes_key=...)``;
        DingTalk Stream mode has no URL: ``subscribe(t, "dingtalk_stream", appkey, None)``."""
        given = {"url": url, **fields}
        body = {"kind": kind, "app": app, **{k: v for k, v in given.items() if v is not None}}
        return dict(self.call("POST", f"/tenants/{tenant_id}/subscriptions", json=body))

    def stream_connections(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's connected DingTalk Stream clients (``app``, ``connection_id``, ``since``,
        ``worker``)."""
        return list(self.call("GET", f"/tenants/{tenant_id}/stream/connections"))

    def subscriptions(self, tenant_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/tenants/{tenant_id}/subscriptions"))

    def subscription_action(self, tenant_id: str, sub_id: str, action: str) -> dict[str, Any]:
        """``pause`` or ``resume``: the subscription afterwards."""
        return dict(self.call("POST", f"/tenants/{tenant_id}/subscriptions/{sub_id}/{action}"))

    def unsubscribe(self, tenant_id: str, sub_id: str) -> None:
        self.call("DELETE", f"/tenants/{tenant_id}/subscriptions/{sub_id}")

    def replay(self, tenant_id: str, sub_id: str, since: float) -> dict[str, Any]:
        """``{"subscription", "replayed"}``: deliveries since ``since`` (unix seconds) queued again."""
        return dict(
            self.call("POST", f"/tenants/{tenant_id}/subscriptions/{sub_id}/replay", json={"since": since})
        )

    def deliveries(self, tenant_id: str, **filters: Any) -> list[dict[str, Any]]:
        """One page, oldest first. Filters: subscription, status, after (the last id seen), limit."""
        return list(self.call("GET", f"/tenants/{tenant_id}/deliveries", params=filters))

    def flush(self, tenant_id: str) -> dict[str, Any]:
        """Deliver everything due now: ``{"delivered", "pending"}``."""
        return dict(self.call("POST", f"/tenants/{tenant_id}/deliveries/flush"))

    def prune(self) -> dict[str, Any]:
        """Prune the outbox and change records now, on the server's clock: ``{"deliveries",
        "records", "missed"}`` (what the engine does each minute; advance the clock to age them)."""
        return dict(self.call("POST", "/events/prune"))

    def changes(self, tenant_id: str, after: int | None = None, **filters: Any) -> dict[str, Any]:
        """``{"changes", "cursor"}``: the records after ``after`` (default: none, and the cursor of now)."""
        return dict(self.call("GET", f"/tenants/{tenant_id}/changes", params={"after": after, **filters}))


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
