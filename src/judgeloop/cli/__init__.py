"""The `judgeloop` command line. Each submodule registers its commands on one Typer app.

Heavy libraries (torch, transformers) are imported inside commands, never here, so that
`judgeloop --help` and the store commands stay fast.

Before torch is loaded, the CLI asks its OpenMP runtime to wait passively (`OMP_WAIT_POLICY=PASSIVE`,
unless the user set it): by default idle OpenMP threads spin, and when other processes hold the cores
two torch threads spend most of their time waiting on each other. Measured on 2 cores at load 4.5, a
300-token SmolLM2 pass took 13.9 s spinning and 4.5 s passive; one decoding step 1,089 ms and 187 ms.
"""

from __future__ import annotations

import importlib
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer
from rich.console import Console
from rich.markup import escape

from judgeloop.errors import Conflict, JudgeloopError

app = typer.Typer(
    name="judgeloop",
    help="Turn human review of LLM outputs into automated evaluators, and keep them honest.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)

_COMMAND_MODULES = (
    "data",
    "train",
    "encoders",
    "cascade",
    "evaluators",
    "agreement",
    "judge",
    "generate",
    "bench",
    "sfteval",
    "serve",
    "review",
    "loop",
    "demo",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"judgeloop.cli.{_name}").register(app)


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The classes of click's usage errors: typer >= 0.20 vendors its own click (`typer._click`),
    whose exceptions are not `click.ClickException`, so both are listed when both exist."""
    import click

    types: list[type[BaseException]] = [click.ClickException]
    try:
        from typer.exceptions import TyperException
    except ImportError:  # older typer: it uses click itself
        pass
    else:
        types.append(TyperException)
    return tuple(types)


def _exit_and_abort_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    import click

    exits: list[type[BaseException]] = [click.exceptions.Exit, typer.Exit]
    aborts: list[type[BaseException]] = [click.exceptions.Abort, typer.Abort]
    return tuple(exits), tuple(aborts)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn domain errors into one clear line and exit code 1;
    usage errors get click's short usage message and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except JudgeloopError as exc:
        text = exc.with_override_hint("--force") if isinstance(exc, Conflict) else str(exc)
        err.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's usage errors and typer.Exit come through here
        exits, aborts = _exit_and_abort_types()
        if isinstance(exc, exits):
            sys.exit(getattr(exc, "exit_code", 0))
        if isinstance(exc, _usage_error_types()):
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                err.print(f"error: {exc}", highlight=False, soft_wrap=True)
            sys.exit(getattr(exc, "exit_code", 2))
        if isinstance(exc, aborts):
            err.print("aborted")
            sys.exit(1)
        raise
