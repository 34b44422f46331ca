"""``openroster``: run the server and manage tenants and apps."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from openroster import __version__
from openroster.cli.call import call_command
from openroster.cli.depts import depts_app
from openroster.cli.events import events_app
from openroster.cli.export import export_command
from openroster.cli.importer import import_command
from openroster.cli.store_options import DEFAULT_DATA_DIR, DatabaseUrl, DataDir, open_for_cli
from openroster.cli.users import users_app
from openroster.config import ENV_SETTINGS, Settings
from openroster.core.runtime import limits
from openroster.model.entities import App
from openroster.model.errors import CoreError

if TYPE_CHECKING:
    from openroster.core.directory import Directory

# The commands that work on a store import the core (and through it the store and SQLAlchemy)
# inside their bodies, so that the commands that only call an API start in a fraction of the time.

app = typer.Typer(no_args_is_help=True, add_completion=False, help="openroster: a people directory server.")
tenant_app = typer.Typer(no_args_is_help=True, help="Manage tenants (companies).")
apps_app = typer.Typer(no_args_is_help=True, help="Manage apps (API credentials).")
app.add_typer(tenant_app, name="tenant")
app.add_typer(apps_app, name="app")

err = Console(stderr=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _fail(exc: CoreError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(2)


@contextmanager
def _store(
    data_dir: Path, database_url: str | None, *, sqlite_synchronous: str = "NORMAL"
) -> Iterator[Directory]:
    """The store for one command: a core refusal ends the command with its message; closed either way."""
    d = open_for_cli(data_dir, database_url, sqlite_synchronous=sqlite_synchronous)
    try:
        yield d
    except CoreError as exc:
        raise _fail(exc) from None
    finally:
        d.store.dispose()


def _failure_budget(key: str, what: str) -> Any:
    """The ``serve`` option of one budget of failed token requests (docs/security.md)."""
    return typer.Option(
        envvar=f"OPENROSTER_CREDENTIAL_FAILURES_PER_{key.upper()}",
        min=0,
        help=f"Failed token requests per {what} per window (0: no limit).",
    )


def _rate_spec(values: list[str] | None, validate: Callable[[str], None], option: str) -> str:
    """The rate options given (repeatable) as one spec, checked; a bad one exits with status 2."""
    spec = ",".join(values or [])
    try:
        validate(spec)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {option}: {exc}")
        raise typer.Exit(2) from None
    return spec


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo company (tenant 'demo').")] = False,
    seed: Annotated[Path | None, typer.Option(help="Load a YAML or JSON seed file.", exists=True)] = None,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1, max=64)] = 1,
    sqlite_synchronous: Annotated[
        str, typer.Option(help="SQLite synchronous mode: NORMAL survives kill -9, FULL also power loss.")
    ] = "NORMAL",
    cache_max_users: Annotated[
        int, typer.Option(help="Users each process keeps in its cache (about 4 KB each).")
    ] = limits.DEFAULT_MAX_USERS,
    writer_threads: Annotated[
        int,
        typer.Option(
            help="PostgreSQL writer connections per process (SQLite has one writer).", min=1, max=64
        ),
    ] = 2,
    switch_interval: Annotated[
        float,
        typer.Option(
            help="Python's switch interval in ms: how long a busy writer thread may keep the "
            "interpreter from the event loop (Python's default: 5).",
            min=0.05,
            max=100,
        ),
    ] = limits.SWITCH_INTERVAL_MS,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    rate_limit: Annotated[
        list[str] | None,
        typer.Option(
            help="WPS rate per app and endpoint, e.g. 'GET /v7/users=20', '*=100', "
            "'GET /v7/depts/root=0' (off). Repeatable; default: GET /v7/depts/root=10."
        ),
    ] = None,
    dingtalk_v1_rate_limit: Annotated[
        list[str] | None,
        typer.Option(
            help="DingTalk /v1.0 rate per app and API, e.g. 'GET /v1.0/hrm/dismission/reasons=5', "
            "'*=off'. Repeatable; default: *=20 (the platform's 20 calls/s)."
        ),
    ] = None,
    credential_failures_per_client: Annotated[
        int, _failure_budget("client", "client id")
    ] = limits.CREDENTIAL_FAILURES_PER_CLIENT,
    credential_failures_per_address: Annotated[
        int, _failure_budget("address", "source address")
    ] = limits.CREDENTIAL_FAILURES_PER_ADDRESS,
    credential_failures_window: Annotated[
        float,
        typer.Option(
            envvar="OPENROSTER_CREDENTIAL_FAILURES_WINDOW",
            min=1.0,
            max=86_400.0,
            help="Seconds over which the failed token requests above are counted.",
        ),
    ] = limits.CREDENTIAL_FAILURES_WINDOW_SECONDS,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="OPENROSTER_ADMIN_TOKEN",
            help="Token for the control plane (/_openroster/); generated and printed when not given.",
        ),
    ] = None,
    journal_size: Annotated[
        int, typer.Option(help="Platform calls the request journal keeps (0: off).", min=0)
    ] = 10_000,
    head_timeout: Annotated[
        float, typer.Option(help="Seconds a client may take to send a request's head.", min=0.1)
    ] = limits.HEAD_TIMEOUT_SECONDS,
    body_timeout: Annotated[
        float, typer.Option(help="Seconds a client may take to send a request's body.", min=0.1)
    ] = limits.BODY_TIMEOUT_SECONDS,
    gc_tuning: Annotated[
        bool,
        typer.Option(
            help="Freeze what is alive at start-up out of Python's garbage collector and collect young "
            "objects less often (fewer pauses over a large cache)."
        ),
    ] = True,
    events_retention: Annotated[
        float,
        typer.Option(
            help="Days delivered change events stay in the outbox (for replay) before pruning; "
            "also the longest a paused subscription holds the changes it has not been sent.",
            min=0,
        ),
    ] = 7.0,
    events_dead_retention: Annotated[
        float,
        typer.Option(
            help="Days dead change events (given up after 24 h of failures) stay in the outbox, "
            "listed and replayable, before pruning.",
            min=0,
        ),
    ] = 30.0,
    events_lease: Annotated[
        float,
        typer.Option(
            help="Seconds a server process holds a change event it is sending before another process "
            "may take it over (after a crash); longer than the receivers' 3 s.",
            min=5,
            max=3600,
        ),
    ] = 30.0,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (its chain after it).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="The certificate's private key (PEM, unencrypted).")
    ] = None,
    change_retention: Annotated[
        int,
        typer.Option(
            help="Change-log entries the store keeps (how processes keep their caches coherent); "
            "older ones are pruned in the background.",
            min=1,
        ),
    ] = limits.CHANGE_RETENTION_DEFAULT,
) -> None:
    """Run the server."""
    # Everything the server creates (database and WAL files, key file, data directory) is the owner's only.
    os.umask(0o077)
    from openroster.core.runtime.secrets import new_secret
    from openroster.dialects.dingtalk_v1.dialect import validate_rates as validate_v1_rates
    from openroster.dialects.wps.dialect import validate_rates
    from openroster.fixtures import demo as demo_data
    from openroster.fixtures.seed import load_seed, read_seed
    from openroster.server import tls
    from openroster.server.run import run

    rate_limits = _rate_spec(rate_limit, validate_rates, "--rate-limit")
    v1_rate_limits = _rate_spec(dingtalk_v1_rate_limit, validate_v1_rates, "--dingtalk-v1-rate-limit")
    try:
        tls.check(tls_cert, tls_key)
    except tls.TlsFilesError as exc:
        err.print("[red]error:[/red] " + escape(str(exc)))
        raise typer.Exit(2) from None
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        port=port,
        workers=workers,
        sqlite_synchronous=sqlite_synchronous,
        cache_max_users=cache_max_users,
        writer_threads=writer_threads,
        switch_interval_ms=switch_interval,
        gc_tuning=gc_tuning,
        wps_rate_limits=rate_limits,
        dingtalk_v1_rate_limits=v1_rate_limits,
        credential_failures_per_client=credential_failures_per_client,
        credential_failures_per_address=credential_failures_per_address,
        credential_failures_window=credential_failures_window,
        admin_token=admin_token or new_secret(),
        journal_size=journal_size,
        head_timeout=head_timeout,
        body_timeout=body_timeout,
        events_retention_days=events_retention,
        events_dead_retention_days=events_dead_retention,
        events_lease_seconds=events_lease,
        tls_cert=tls_cert,
        tls_key=tls_key,
        change_retention=change_retention,
    )
    with _store(data_dir, database_url, sqlite_synchronous=sqlite_synchronous) as d:
        sample_ids: list[str] = []
        if demo:
            demo_data.load(d)
            sample_ids = demo_data.sample_user_ids(d, 3)
        if seed is not None:
            created = load_seed(d, read_seed(seed))
            if created:
                err.print(f"seeded tenants: {', '.join(created)}")
    _banner(settings, demo=demo, sample_ids=sample_ids, show_admin_token=admin_token is None)
    if workers == 1:
        from openroster.server.app import create_app

        run(create_app(settings), settings, log_level=log_level)
    else:
        os.environ[ENV_SETTINGS] = settings.to_env()
        run("openroster.server.app:app_from_env", settings, log_level=log_level)


def _banner(settings: Settings, *, demo: bool, sample_ids: list[str], show_admin_token: bool) -> None:
    base = f"{settings.scheme}://{settings.host}:{settings.port}"
    curl = "curl -s" + (f" --cacert {settings.tls_cert}" if settings.tls_cert is not None else "")
    url = settings.resolved_database_url
    store = url if not url.startswith("postgres") else url.split("@")[-1]
    lines = [
        f"openroster {__version__} listening on {base}  ({settings.workers} process(es), store {store})",
        f"  WPS 365 v7:   {base}/v7/...   (also {base}/openapi/v7/... and {base}/graph/v7/...)",
        f"  WPS tokens:   POST {base}/oauth2/token",
        f"  DingTalk:     GET {base}/gettoken?appkey=&appsecret=, then POST {base}/topapi/...?access_token=",
        f"  API docs:     {base}/docs",
        f"  console:      {base}/console/   (sign in with the admin token)",
        f"  control:      {base}/_openroster/docs   admin token: "
        + (f"{settings.admin_token}" if show_admin_token else "(as given)"),
    ]
    if demo:
        from openroster.fixtures.demo import DEMO_APPS

        lines.append("  demo tenant 'demo' credentials (client_id / client_secret):")
        for a in DEMO_APPS:
            lines.append(f"    {a.client_id:<16} {a.secret:<24} {a.note}")
        body = orjson.dumps({"user_ids": sample_ids, "status": ["active"], "with_dept": True}).decode()
        lines += [
            "  try it (with the unsigned app; demo-wps and demo-wps4 need KSO-1 / WPS-4 signatures,"
            " see README.md):",
            f"    TOKEN=$({curl} {base}/oauth2/token -d grant_type=client_credentials"
            " -d client_id=demo-wps-nosign -d client_secret=demo-wps-nosign-secret"
            """ | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')""",
            f"    {curl} {base}/v7/users/batch_read -H 'Content-Type: application/json'"
            f' -H "Authorization: Bearer $TOKEN"' + f" -d '{body}'",
        ]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


@app.command("demo")
def demo_command(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    users: Annotated[int, typer.Option(help="How many people the demo company has.", min=1)] = 500,
    tenant: Annotated[str | None, typer.Option(help="Tenant id to create  [default: demo]")] = None,
) -> None:
    """Create the demo company (idempotent) without starting the server."""
    from openroster.fixtures import demo as demo_data

    tenant = tenant or demo_data.DEMO_TENANT
    with _store(data_dir, database_url) as d:
        created = demo_data.load(d, users_count=users, tenant_id=tenant)
    _print_json({"tenant": tenant, "created": created})


@tenant_app.command("create")
def tenant_create(
    tenant_id: Annotated[str, typer.Argument(metavar="ID", help="Tenant id.")],
    name: Annotated[str, typer.Option(help="Company name.")],
    wps_company_id: Annotated[
        str | None, typer.Option(help="WPS company id (default: the tenant id).")
    ] = None,
    dingtalk_corp_id: Annotated[
        str | None, typer.Option(help="DingTalk corp id (default: ding<ID>).")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a tenant and print it as JSON."""
    from openroster.core.tenancy import tenants as tenant_service

    with _store(data_dir, database_url) as d:
        t = tenant_service.create(
            d,
            tenant_id=tenant_id,
            name=name,
            wps_company_id=wps_company_id,
            dingtalk_corp_id=dingtalk_corp_id,
        )
    _print_json(
        {
            "id": t.id,
            "name": t.name,
            "wps_company_id": t.wps_company_id,
            "dingtalk_corp_id": t.dingtalk_corp_id,
        }
    )


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """List tenants as JSON."""
    from openroster.core.tenancy import tenants as tenant_service

    with _store(data_dir, database_url) as d:
        _print_json([{"id": t.id, "name": t.name} for t in tenant_service.list_all(d)])


@apps_app.command("create")
def app_create(
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    scopes: Annotated[str, typer.Option(help="Comma- or space-separated scopes.")] = "",
    signing: Annotated[str, typer.Option(help="kso1, wps4, wps4gm or none.")] = "kso1",
    name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Choose the client id (default: generated).")] = None,
    client_secret: Annotated[str | None, typer.Option(help="Choose the secret (default: generated).")] = None,
    agentid: Annotated[int | None, typer.Option(help="DingTalk agentid.")] = None,
    platform: Annotated[
        str | None,
        typer.Option(
            help="wps, dingtalk or scim: the one token endpoint (scim: bearer) that knows the app "
            "(default: the one its scopes name; kso.* is WPS, qyapi_* or an agentid DingTalk, scim SCIM)."
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an app and print its credentials as JSON."""
    from openroster.core.tenancy import apps as app_service

    with _store(data_dir, database_url) as d:
        a = app_service.create(
            d,
            tenant_id=tenant,
            name=name,
            scopes=scopes.replace(",", " ").split(),
            signing=signing,
            client_id=client_id,
            secret=client_secret,
            agentid=agentid,
            platform=platform,
        )
    _print_credentials(a)


@apps_app.command("rotate-secret")
def app_rotate_secret(
    client_id: Annotated[str, typer.Argument(metavar="CLIENT_ID", help="Client id (DingTalk appkey).")],
    client_secret: Annotated[
        str | None, typer.Option(help="Choose the new secret (default: generated).")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Give an app a new secret and print its credentials as JSON.

    The old secret stops working at once, also on servers already running on this store: token
    requests with it are refused, and so is every token issued before.
    """
    from openroster.core.tenancy import apps as app_service

    with _store(data_dir, database_url) as d:
        a = app_service.rotate_secret(d, client_id=client_id, secret=client_secret)
    _print_credentials(a)


def _print_credentials(a: App) -> None:
    _print_json(
        {
            "tenant": a.tenant_id,
            "client_id": a.client_id,
            "client_secret": a.secret,
            "scopes": sorted(a.scopes),
            "signing": a.signing.value,
            "agentid": a.agentid,
            "platform": a.platform.value,
        }
    )


# Commands for integrators and HR administrators (cli/call.py, users.py, depts.py, importer.py, export.py).
app.command("call")(call_command)
app.add_typer(users_app, name="users")
app.add_typer(depts_app, name="depts")
app.add_typer(events_app, name="events")
app.command("import")(import_command)
app.command("export")(export_command)


def main() -> None:
    app()
