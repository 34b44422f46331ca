"""Where the API commands (``call``, ``users``, ``depts``, ``events``) get the server and credentials from.

In order: command-line flags, then the environment (``OPENROSTER_URL``,
``OPENROSTER_WPS_CLIENT_ID``, ``OPENROSTER_WPS_CLIENT_SECRET``,
``OPENROSTER_WPS_SIGNING``, ``OPENROSTER_DINGTALK_APPKEY``,
``OPENROSTER_DINGTALK_APPSECRET``, ``OPENROSTER_DINGTALK_AGENTID``), then a
profile in a TOML file (``--profile`` / ``OPENROSTER_PROFILE``, default
``default``; the file is ``--profile-file`` / ``OPENROSTER_PROFILE_FILE``,
default ``~/.config/openroster/profiles.toml``)::

    [default]
    url = "http://127.0.0.1:8000"
    wps_client_id = "demo-wps"
    wps_client_secret = "demo-wps-secret"
    wps_signing = "kso1"          # kso1, wps4, wps4gm or none
    dingtalk_appkey = "demo-dingtalk"
    dingtalk_appsecret = "demo-dingtalk-secret"
    dingtalk_agentid = 1000001
    admin_token = "..."           # openroster events: the server's --admin-token

Without a URL the commands talk to the real platforms (``https://openapi.wps.cn``,
``https://oapi.dingtalk.com``).
"""

from __future__ import annotations

import functools
import inspect
import os
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from openroster.client import DingTalkClient, WpsClient

# The API client (httpx, pydantic models) is imported by the commands that call an API, not by
# every ``openroster`` command: ``openroster import`` starts without it.


class CredentialsError(Exception):
    """The credentials are missing or the profile file is unusable."""


def default_profile_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openroster" / "profiles.toml"


@dataclass
class Credentials:
    url: str | None = None
    wps_client_id: str | None = None
    wps_client_secret: str | None = None
    wps_signing: str | None = None
    wps_prefix: str | None = None
    dingtalk_appkey: str | None = None
    dingtalk_appsecret: str | None = None
    dingtalk_agentid: str | None = None
    #: The server's admin token, for the control-plane commands (``openroster events``).
    admin_token: str | None = None

    def wps(self) -> WpsClient:
        from openroster.client import WpsClient
        from openroster.client import wps as wps_client

        if not self.wps_client_id or not self.wps_client_secret:
            raise CredentialsError(
                "WPS credentials are missing: give --client-id and --client-secret, set "
                "OPENROSTER_WPS_CLIENT_ID and OPENROSTER_WPS_CLIENT_SECRET, or add them to a profile"
            )
        signing = (self.wps_signing or "kso1").lower()
        if signing not in (*wps_client.SIGNING_SCHEMES, "none"):
            raise CredentialsError(f"signing must be kso1, wps4, wps4gm or none, not {signing!r}")
        return WpsClient(
            self.url or wps_client.DEFAULT_BASE_URL,
            client_id=self.wps_client_id,
            client_secret=self.wps_client_secret,
            signing=None if signing == "none" else signing,
            prefix=self.wps_prefix or "",
        )

    def dingtalk(self) -> DingTalkClient:
        from openroster.client import DingTalkClient
        from openroster.client import dingtalk as dingtalk_client

        if not self.dingtalk_appkey or not self.dingtalk_appsecret:
            raise CredentialsError(
                "DingTalk credentials are missing: give --appkey and --appsecret, set "
                "OPENROSTER_DINGTALK_APPKEY and OPENROSTER_DINGTALK_APPSECRET, or add them to a profile"
            )
        return DingTalkClient(
            self.url or dingtalk_client.DEFAULT_BASE_URL,
            appkey=self.dingtalk_appkey,
            appsecret=self.dingtalk_appsecret,
            agentid=self.dingtalk_agentid,
        )


def read_profile(path: Path, name: str, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise CredentialsError(f"profile file {path} does not exist")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"{path}: not valid TOML: {exc}") from None
    profile = data.get(name)
    if profile is None:
        if required:
            raise CredentialsError(f"{path} has no profile [{name}] (profiles: {', '.join(data) or 'none'})")
        return {}
    if not isinstance(profile, dict):
        raise CredentialsError(f"{path}: [{name}] must be a table")
    known = {f.name for f in fields(Credentials)}
    unknown = sorted(set(profile) - known)
    if unknown:
        raise CredentialsError(
            f"{path}: [{name}] has unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return {k: str(v) for k, v in profile.items()}


def resolve(given: Credentials, *, profile: str | None, profile_file: Path | None) -> Credentials:
    """Flags and environment (already in ``given``) over the profile's values."""
    path = profile_file or default_profile_file()
    stored = read_profile(
        path, profile or "default", required=profile is not None or profile_file is not None
    )
    merged = {f.name: getattr(given, f.name) or stored.get(f.name) for f in fields(Credentials)}
    return Credentials(**merged)


# -- the options every API command takes --------------------------------------------------


def _option(flag: str, text: str, envvar: str | None = None, kind: type = str) -> Any:
    return Annotated[kind | None, typer.Option(flag, envvar=envvar, help=text)]


_WPS_OPTIONS: dict[str, Any] = {
    "url": _option("--url", "Server base URL.", "OPENROSTER_URL"),
    "client_id": _option("--client-id", "WPS app client_id.", "OPENROSTER_WPS_CLIENT_ID"),
    "client_secret": _option("--client-secret", "WPS app client_secret.", "OPENROSTER_WPS_CLIENT_SECRET"),
    "signing": _option("--signing", "WPS signing: kso1, wps4, wps4gm, none.", "OPENROSTER_WPS_SIGNING"),
    "prefix": _option("--prefix", "WPS gateway prefix (/openapi or /graph)."),
}
_DINGTALK_OPTIONS: dict[str, Any] = {
    "appkey": _option("--appkey", "DingTalk appkey.", "OPENROSTER_DINGTALK_APPKEY"),
    "appsecret": _option("--appsecret", "DingTalk appsecret.", "OPENROSTER_DINGTALK_APPSECRET"),
    "agentid": _option("--agentid", "DingTalk agentid.", "OPENROSTER_DINGTALK_AGENTID"),
}
_PROFILE_OPTIONS: dict[str, Any] = {
    "profile": _option("--profile", "Profile in the profile file.", "OPENROSTER_PROFILE"),
    "profile_file": _option("--profile-file", "TOML file of profiles.", "OPENROSTER_PROFILE_FILE", Path),
}
_FIELD = {
    "client_id": "wps_client_id",
    "client_secret": "wps_client_secret",
    "signing": "wps_signing",
    "prefix": "wps_prefix",
    "appkey": "dingtalk_appkey",
    "appsecret": "dingtalk_appsecret",
    "agentid": "dingtalk_agentid",
}


def with_credentials(*, dingtalk: bool = False) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the credential options; it receives the resolved ``creds: Credentials``.

    ``dingtalk`` adds the DingTalk options to the WPS ones.
    """
    options = {**_WPS_OPTIONS, **(_DINGTALK_OPTIONS if dingtalk else {}), **_PROFILE_OPTIONS}

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name])
            for p in inspect.signature(fn).parameters.values()
            if p.name != "creds"
        ]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
            for name, hint in options.items()
        ]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            given = Credentials(
                **{
                    _FIELD.get(k, k): kwargs.pop(k)
                    for k in list(kwargs)
                    if k in options and k not in _PROFILE_OPTIONS
                }
            )
            try:
                creds = resolve(given, profile=kwargs.pop("profile"), profile_file=kwargs.pop("profile_file"))
            except CredentialsError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from None
            fn(creds=creds, **kwargs)

        command.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in own + extra}
        return command

    return decorate
