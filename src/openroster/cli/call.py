"""``openroster call wps|dingtalk METHOD PATH``: one authenticated (and signed) API call from the shell.

The reply is printed as the platform sent it: pretty JSON on a terminal,
compact JSON otherwise (for ``jq`` and scripts). The exit status is 0 when the
platform's code (WPS ``code``, DingTalk ``errcode``) is 0, 1 when it is not, 2
for a usage error and 3 when the server cannot be reached.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from openroster.cli.credentials import Credentials, CredentialsError, with_credentials

DIALECTS = ("wps", "dingtalk")


def print_json(data: Any) -> None:
    """Pretty on a terminal, compact otherwise."""
    option = orjson.OPT_INDENT_2 if sys.stdout.isatty() else 0
    sys.stdout.write(orjson.dumps(data, option=option).decode() + "\n")
    sys.stdout.flush()


def read_data(data: str | None) -> Any:
    """``--data``: JSON text, ``@file`` or ``@-`` (standard input)."""
    if data is None:
        return None
    if data.startswith("@"):
        source = data[1:]
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    else:
        text = data
    return orjson.loads(text)


def parse_query(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--query {item!r}: expected key=value")
        out.append((key, value))
    return out


@with_credentials(dingtalk=True)
def call_command(
    creds: Credentials,
    dialect: Annotated[str, typer.Argument(help="wps or dingtalk.", metavar="wps|dingtalk")],
    method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, ...")],
    path: Annotated[str, typer.Argument(help="Path, e.g. /v7/users or /topapi/v2/user/get.")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="JSON body, @file or @- (stdin).")] = None,
    query: Annotated[
        list[str] | None, typer.Option("--query", "-q", help="Query parameter key=value.")
    ] = None,
) -> None:
    """Make one API call with the app's credentials (token, signature) and print the reply."""
    if dialect not in DIALECTS:
        typer.echo(f"error: the dialect is wps or dingtalk, not {dialect!r}", err=True)
        raise typer.Exit(2)
    try:
        body = read_data(data)
        params = parse_query(query or [])
    except (OSError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        client = creds.wps() if dialect == "wps" else creds.dingtalk()
    except CredentialsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from openroster.client import ApiError, TransportError

    with client:
        try:
            reply = client.request(method, path, json=body, params=params, envelope=True)
        except ApiError as exc:
            print_json(exc.reply or {"error": str(exc)})
            raise typer.Exit(1) from None
        except TransportError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(3) from None
    print_json(reply)
