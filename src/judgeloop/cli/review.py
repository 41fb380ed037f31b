"""CLI commands of human review: `judgeloop reviewer add|list|remove|unlock` and
`judgeloop queue create|list|status`.

`judgeloop queue` is shared with `queue fill` (active selection, judgeloop.cli.loop): the commands here join
that group when it exists, so both sets live under one `queue` command.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from judgeloop.cli.options import DbOption, ProjectOption

reviewer_app = typer.Typer(help="Reviewer accounts of the review UI.", no_args_is_help=True)
queue_app = typer.Typer(help="Review queues: open, fill, list, progress.", no_args_is_help=True)


def _read_password(prompt: bool) -> str | None:
    """The password: prompted (hidden, twice) on a terminal, else the first line of stdin."""
    if prompt and sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    return line.rstrip("\r\n") or None


@reviewer_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    project: ProjectOption,
    role: Annotated[
        str, typer.Option(help="reviewer | admin (admins are leads: queues, invites, projects)")
    ] = ("reviewer"),
    db: DbOption = None,
) -> None:
    """Create (or update) a reviewer with a password read from stdin, add them to the project, and
    print an API token for them as the last word of the output (shown once)."""
    from judgeloop.review import users
    from judgeloop.server.auth import create_token
    from judgeloop.store import Workspace

    ws = Workspace(db)
    password = _read_password(prompt=True)
    user = users.add_reviewer(ws, name, project, role, password, lead=role == "admin")
    token = create_token(ws, project, role, user.id)
    typer.echo(
        f"{user.name} is {role} of project {project}; sign in at /review. API token (shown once): {token}"
    )


@reviewer_app.command("list")
def list_command(project: ProjectOption, db: DbOption = None) -> None:
    """The project's members and their roles."""
    from judgeloop.review import users
    from judgeloop.store import Workspace

    for name, role in users.members(Workspace(db), project):
        typer.echo(f"{name}\t{role}")


@reviewer_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="User name.")], project: ProjectOption, db: DbOption = None
) -> None:
    """Take a user out of the project: their API tokens of it are revoked, their browser sessions end."""
    from judgeloop.review import users
    from judgeloop.store import Workspace

    users.remove_member(Workspace(db), name, project)
    typer.echo(f"{name} was removed from project {project}; their sessions and tokens there have ended.")


@reviewer_app.command("unlock")
def unlock_command(
    name: Annotated[str | None, typer.Argument(help="User name whose sign-in lock to lift.")] = None,
    address: Annotated[str | None, typer.Option(help="Also (or only) lift the lock of this address.")] = None,
    db: DbOption = None,
) -> None:
    """Lift a sign-in lock (too many failed sign-ins); without arguments, list the locks."""
    from judgeloop.review import throttle
    from judgeloop.store import Workspace

    ws = Workspace(db)
    if not name and not address:
        for state in throttle.locks(ws):
            typer.echo(
                f"{state.key}\t{state.failures} failures\tuntil {state.locked_until:%Y-%m-%d %H:%M:%S}"
            )
        return
    cleared = throttle.clear(ws, name, address)
    typer.echo(f"cleared {cleared} lock(s)")


def queue_create_command(
    project: ProjectOption,
    name: Annotated[str, typer.Option("--name", help="Queue name (unique in the project).")],
    mode: Annotated[str, typer.Option(help="binary | likert | pairwise | evaluator")] = "binary",
    size: Annotated[int, typer.Option(help="How many sessions (at most).")] = 50,
    overlap: Annotated[int, typer.Option(help="Reviewers per item.")] = 1,
    strategy: Annotated[str, typer.Option(help="random | unlabelled-first")] = "random",
    evaluator: Annotated[
        str | None, typer.Option(help="mode=evaluator: whose verdicts (default any).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the random choice.")] = None,
    db: DbOption = None,
) -> None:
    """Open a review queue; reviewers find it at /review."""
    from pydantic import ValidationError

    from judgeloop.errors import InvalidInput
    from judgeloop.review import queues
    from judgeloop.review.schemas import QueueIn
    from judgeloop.store import Workspace

    try:
        spec = QueueIn.model_validate(
            {
                "project": project,
                "name": name,
                "mode": mode,
                "size": size,
                "overlap": overlap,
                "strategy": strategy,
                "evaluator": evaluator,
                "seed": seed,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=".".join(map(str, first["loc"]))) from None
    queue = queues.create_queue(Workspace(db), spec, created_by="cli")
    typer.echo(f"queue {queue.id} {queue.name!r}: {queue.items} items, {queue.mode}, overlap {queue.overlap}")


def queue_list_command(project: ProjectOption, db: DbOption = None) -> None:
    """The project's queues with labels done and needed."""
    from judgeloop.review import queues
    from judgeloop.store import Workspace

    for q, done in queues.list_queues(Workspace(db), project):
        typer.echo(f"{q.id}\t{q.name}\t{q.mode}\t{q.strategy}\t{done}/{q.items * q.overlap}")


def queue_status_command(
    queue_id: Annotated[int, typer.Argument(help="Queue id.")],
    db: DbOption = None,
) -> None:
    """Progress of one queue as JSON: labels done and needed, per reviewer."""
    from judgeloop.review import queues
    from judgeloop.store import Workspace

    ws = Workspace(db)
    report = queues.progress(ws, queues.get_queue(ws, queue_id), per_item=False)
    typer.echo(json.dumps(report.model_dump(mode="json", exclude={"per_item"}), indent=2))


def _shared_queue_group() -> typer.Typer | None:
    """The `queue` group of judgeloop.cli.loop (`queue fill`) when that module is registered."""
    from judgeloop import cli

    if "loop" not in getattr(cli, "_COMMAND_MODULES", ()):
        return None
    from judgeloop.cli.loop import queue_app as shared

    return shared


def register(app: typer.Typer) -> None:
    app.add_typer(reviewer_app, name="reviewer")
    group = _shared_queue_group()
    target = group or queue_app
    target.command("create")(queue_create_command)
    target.command("list")(queue_list_command)
    target.command("status")(queue_status_command)
    if group is None:
        app.add_typer(queue_app, name="queue")
