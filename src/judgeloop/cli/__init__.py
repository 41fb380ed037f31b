"""The `judgeloop` command line. Each submodule registers its commands on one Typer app.

Heavy libraries (torch, transformers) are imported inside commands, never here, so that
`judgeloop --help` and the store commands stay fast.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from judgeloop.errors import JudgeloopError

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
    "models",
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn domain errors into one clear line and exit code 1."""
    try:
        app(args=argv, standalone_mode=False)
    except JudgeloopError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's usage errors and typer.Exit come through here
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            err.print("aborted")
            sys.exit(1)
        raise
