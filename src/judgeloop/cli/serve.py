"""CLI commands: `judgeloop serve` (the HTTP API) and `judgeloop token create|revoke` (API tokens)."""

from __future__ import annotations

from typing import Annotated

import typer

from judgeloop.cli.options import DbOption, ProjectOption

token_app = typer.Typer(help="API tokens: create (shown once) and revoke.", no_args_is_help=True)


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    preload: Annotated[bool, typer.Option(help="Load every champion model before listening.")] = True,
) -> None:
    """Serve the guardrail and evaluation API (and /metrics, /healthz) until interrupted."""
    import gc
    import logging

    import uvicorn

    from judgeloop.server import create_app, serve_lock

    lock = serve_lock.hold(db)  # a second server on one SQLite file is refused here
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    logger = logging.getLogger("judgeloop")
    logger.setLevel(getattr(logging, log_level.upper(), logging.INFO))
    logger.addHandler(handler)
    app = create_app(db)
    if preload:
        app.state.serve.cache.warm()
    # What startup made (modules, the app, models) leaves the collector's generations: a request that
    # builds tens of thousands of rows (the evaluators page) no longer triggers full collections that
    # walk it all again (BENCHMARKS.md, "derived tables": 168-184 ms vs 247 ms for that page).
    gc.freeze()
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)
    finally:
        if lock is not None:
            lock.close()


@token_app.command("create")
def create_command(
    project: ProjectOption,
    role: Annotated[str, typer.Option(help="reviewer | service | admin")] = "service",
    db: DbOption = None,
) -> None:
    """Create a token for one project; it is printed once, as the last word of the output."""
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    token = create_token(Workspace(db), project, role)
    typer.echo(f"{role} token for project {project} (shown once, store it safely): {token}")


@token_app.command("revoke")
def revoke_command(
    token: Annotated[str, typer.Argument(help="The token to revoke.")], db: DbOption = None
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    from judgeloop.server.services import revoke_token
    from judgeloop.store import Workspace

    revoke_token(Workspace(db), token)
    typer.echo("revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(token_app, name="token")
