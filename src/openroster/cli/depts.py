"""``openroster depts tree``: the department tree through the WPS API, as a Rich tree or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.tree import Tree

from openroster.cli.call import print_json
from openroster.cli.credentials import Credentials, with_credentials
from openroster.cli.users import api_failure, open_wps

if TYPE_CHECKING:
    from openroster.client.wps_models import Dept

depts_app = typer.Typer(no_args_is_help=True, help="Departments, through the WPS API.")
out = Console()


@depts_app.command("tree")
@with_credentials()
def depts_tree(
    creds: Credentials,
    root: Annotated[str | None, typer.Option(help="Start at this department (default: the root).")] = None,
    ids: Annotated[bool, typer.Option("--ids/--no-ids", help="Show department ids.")] = True,
    json: Annotated[bool, typer.Option("--json", help="Print nested JSON instead of a tree.")] = False,
) -> None:
    """Show the department tree (every level below --root)."""
    from openroster.client import ApiError, TransportError

    with open_wps(creds) as wps:
        try:
            top = wps.get_dept(root) if root is not None else wps.get_root_dept()
            below = list(wps.iter_dept_children(top.id, recursive=True, page_size=50))
        except (ApiError, TransportError) as exc:
            raise api_failure(exc) from None
    children: dict[str, list[Dept]] = {}
    for d in below:
        children.setdefault(d.parent_id, []).append(d)
    for kids in children.values():
        kids.sort(key=lambda d: (d.order, int(d.id) if d.id.isdigit() else 0))
    if json:
        print_json(_nested(top, children))
        return
    tree = Tree(_label(top, ids))
    _grow(tree, top, children, ids)
    out.print(tree)
    out.print(f"{len(below) + 1} departments")


def _label(d: Dept, ids: bool) -> str:
    leaders = f" [dim]leaders: {', '.join(x.user_id for x in d.leaders)}[/dim]" if d.leaders else ""
    return f"[bold]{d.name}[/bold]" + (f" [dim]({d.id})[/dim]" if ids else "") + leaders


def _grow(node: Tree, d: Dept, children: dict[str, list[Dept]], ids: bool) -> None:
    for child in children.get(d.id, []):
        _grow(node.add(_label(child, ids)), child, children, ids)


def _nested(d: Dept, children: dict[str, list[Dept]]) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "abs_path": d.abs_path,
        "leaders": [x.user_id for x in d.leaders],
        "children": [_nested(c, children) for c in children.get(d.id, [])],
    }
