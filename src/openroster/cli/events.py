"""``openroster events``: subscriptions, deliveries, replays and a live tail of a tenant's changes.

Every command calls the server's control plane (``/_openroster``) with the admin token: the
server from ``--url`` / ``OPENROSTER_URL`` / a profile's ``url``, the token from
``--admin-token`` / ``OPENROSTER_ADMIN_TOKEN`` / a profile's ``admin_token`` (cli/credentials.py).
Replies are printed as JSON (pretty on a terminal); ``tail`` prints one line per change with Rich.
Exit status: 0, 1 when the control plane refused the call, 2 for a usage error, 3 when the
server cannot be reached.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from openroster.cli.call import print_json
from openroster.cli.credentials import Credentials, CredentialsError, resolve

if TYPE_CHECKING:
    from openroster.testing.control import ControlClient

events_app = typer.Typer(no_args_is_help=True)

Url = Annotated[str | None, typer.Option("--url", envvar="OPENROSTER_URL", help="Server base URL.")]
AdminToken = Annotated[
    str | None,
    typer.Option("--admin-token", envvar="OPENROSTER_ADMIN_TOKEN", help="The server's admin token."),
]
Profile = Annotated[
    str | None, typer.Option("--profile", envvar="OPENROSTER_PROFILE", help="Profile in the profile file.")
]
ProfileFile = Annotated[
    Path | None,
    typer.Option("--profile-file", envvar="OPENROSTER_PROFILE_FILE", help="TOML file of profiles."),
]
Tenant = Annotated[str, typer.Argument(help="The tenant's id.")]
SubscriptionId = Annotated[str, typer.Argument(help="The subscription's id (sub_...).")]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@events_app.callback()
def server(
    ctx: typer.Context,
    url: Url = None,
    admin_token: AdminToken = None,
    profile: Profile = None,
    profile_file: ProfileFile = None,
) -> None:
    """Change events: subscriptions, deliveries, replays, a live tail (the control plane).

    The server options go before the command: openroster events --url URL --admin-token T list TENANT.
    """
    try:
        given = Credentials(url=url, admin_token=admin_token)
        ctx.obj = resolve(given, profile=profile, profile_file=profile_file)
    except CredentialsError as exc:
        raise _fail(str(exc), 2) from None


@contextmanager
def control(creds: Credentials) -> Iterator[ControlClient]:
    """The control-plane client of the command's server; a refusal or an unreachable server ends
    the command with its message."""
    import httpx

    from openroster.testing.control import ControlClient, ControlError

    if not creds.url or not creds.admin_token:
        raise _fail(
            "give the server's --url and --admin-token (or OPENROSTER_URL and OPENROSTER_ADMIN_TOKEN, "
            "or url and admin_token in a profile)",
            2,
        )
    client = ControlClient(creds.url, creds.admin_token)
    try:
        yield client
    except ControlError as exc:
        raise _fail(f"{exc.status} {exc.code}: {exc.message}", 1) from None
    except httpx.TransportError as exc:
        raise _fail(f"cannot reach {creds.url}: {exc}", 3) from None
    finally:
        client.close()


def _moment(value: str) -> float:
    """Unix seconds from a number or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither unix seconds nor an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@events_app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    tenant: Tenant,
    kind: Annotated[
        str,
        typer.Argument(
            help="wps, dingtalk (HTTP callbacks) or dingtalk_stream (Stream mode: no receiver URL).",
            metavar="wps|dingtalk|dingtalk_stream",
        ),
    ],
    app: Annotated[
        str, typer.Argument(help="The tenant's app (client_id / appkey) whose keys seal the events.")
    ],
    receiver: Annotated[
        str | None,
        typer.Argument(help="The receiver's URL (it must pass the challenge / check_url); none for Stream."),
    ] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", help="A WPS topic or DingTalk EventType (repeat; default all)."),
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="dingtalk: the callback token.")] = None,
    aes_key: Annotated[
        str | None, typer.Option("--aes-key", help="dingtalk: the 43-character aes_key.")
    ] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", help="dingtalk: current (default) or legacy.")
    ] = None,
) -> None:
    """Subscribe a receiver to the tenant's change events (after its URL verification)."""
    wanted = {"topics" if kind == "wps" else "events": topic} if topic else {}
    with control(ctx.obj) as c:
        print_json(
            c.subscribe(tenant, kind, app, receiver, token=token, aes_key=aes_key, payload=payload, **wanted)
        )


@events_app.command("connections")
def stream_connections(ctx: typer.Context, tenant: Tenant) -> None:
    """The tenant's connected DingTalk Stream clients (app, connection id, since, server process)."""
    with control(ctx.obj) as c:
        print_json(c.stream_connections(tenant))


@events_app.command("list")
def list_subscriptions(
    ctx: typer.Context,
    tenant: Tenant,
) -> None:
    """The tenant's subscriptions (never their token or aes_key)."""
    with control(ctx.obj) as c:
        print_json(c.subscriptions(tenant))


@events_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    tenant: Tenant,
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="Only this subscription's.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, retrying, delivered or dead.")
    ] = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Only deliveries with a larger id.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 100,
) -> None:
    """The tenant's deliveries, oldest first (page on with --after = the last id)."""
    with control(ctx.obj) as c:
        print_json(c.deliveries(tenant, subscription=subscription, status=status, after=after, limit=limit))


@events_app.command("replay")
def replay(
    ctx: typer.Context,
    tenant: Tenant,
    subscription: SubscriptionId,
    since: Annotated[
        str, typer.Option("--since", help="Unix seconds or an ISO 8601 time (default: all retained).")
    ] = "0",
) -> None:
    """Deliver again what the subscription was sent since a moment, with the original event ids."""
    moment = _moment(since)
    with control(ctx.obj) as c:
        print_json(c.replay(tenant, subscription, moment))


def _line(change: dict[str, Any]) -> str:
    at = datetime.fromtimestamp(change["time"], UTC).strftime("%H:%M:%S.%f")[:-3]
    fields = ", ".join(change["fields"])
    actor = f" [dim]by {change['actor']}[/dim]" if change.get("actor") else ""
    colour = {"create": "green", "update": "yellow", "delete": "red"}.get(change["operation"], "white")
    return (
        f"[dim]{at}[/dim] [{colour}]{change['operation']:<6}[/{colour}] {change['kind']} "
        f"[bold]{change['entity_id']}[/bold]" + (f" ({fields})" if fields else "") + actor
    )


@events_app.command("tail")
def tail(
    ctx: typer.Context,
    tenant: Tenant,
    after: Annotated[
        int | None, typer.Option("--after", min=0, help="Start after this change seq (default: now).")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many changes (default: never).")
    ] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between polls.")] = 0.5,
) -> None:
    """Print the tenant's changes live as they commit (Ctrl-C to stop)."""
    from rich.console import Console

    out = Console(highlight=False)
    shown = 0
    with control(ctx.obj) as c:
        cursor = after if after is not None else int(c.changes(tenant)["cursor"])
        try:
            while count is None or shown < count:
                page = c.changes(tenant, cursor)
                for change in page["changes"][: None if count is None else count - shown]:
                    out.print(_line(change))
                    shown += 1
                cursor = int(page["cursor"])
                if not page["changes"]:
                    time.sleep(interval)
        except KeyboardInterrupt:
            pass
