"""CLI commands that close the loop: `monitor`, `alerts`, `outliers`, `automation`, `queue fill`."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from judgeloop.cli.options import DbOption, ProjectOption

out = Console()

EvaluatorOption = Annotated[
    str | None, typer.Option("--evaluator", "-e", help="Evaluator name or name@version (default: all).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def monitor_command(
    project: ProjectOption,
    evaluator: EvaluatorOption = None,
    by: Annotated[Literal["hour", "day"], typer.Option("--by", help="Window size.")] = "day",
    group_by: Annotated[
        Literal["evaluator", "app_version", "tag"] | None,
        typer.Option("--group-by", help="Split series by evaluator version, app version or tag."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Start: 7d, 48h or an ISO date (default: all).")] = None,
    until: Annotated[str | None, typer.Option(help="End (exclusive): 7d, 48h or an ISO date.")] = None,
    time_axis: Annotated[
        Literal["verdict", "session"],
        typer.Option("--time", help="Windows by the session's own time (default) or the verdict's."),
    ] = "session",
    test: Annotated[
        Literal["betabinomial", "binomial", "cusum", "fixed"],
        typer.Option(help="Spike test: CUSUM for sustained drops (default), a per-window test for spikes."),
    ] = "cusum",
    correction: Annotated[
        Literal["bh", "bonferroni", "horizon", "none"], typer.Option(help="Multiple-testing correction.")
    ] = "bh",
    alpha: Annotated[
        float, typer.Option(help="Window tests' level: FDR for bh, family-wise for bonferroni.")
    ] = 0.05,
    arl: Annotated[
        float, typer.Option("--arl", help="CUSUM: in-control average run length, in windows.")
    ] = 1000.0,
    min_drop: Annotated[float, typer.Option(help="Ignore drops smaller than this (0.02 = 2 points).")] = 0.0,
    last: Annotated[int, typer.Option(help="Windows shown per series.")] = 30,
    windows: Annotated[bool, typer.Option("--windows", help="Also print each window's test.")] = False,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Save alerts in the alerts table.")
    ] = True,
    notify: Annotated[
        bool, typer.Option("--notify", help="Send new alerts to the project's webhook.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pass rate and mean score over time, with spike detection; new alerts are stored."""
    from judgeloop.cli.loop_views import parse_since, series_table, windows_table
    from judgeloop.monitor import SpikeConfig, run_monitor
    from judgeloop.store import Workspace

    ws = Workspace(db)
    cfg = SpikeConfig(test=test, correction=correction, alpha=alpha, min_drop=min_drop, arl0=arl)
    report = run_monitor(
        ws,
        project,
        evaluator,
        bucket=by,
        group_by=group_by,
        config=cfg,
        since=parse_since(since),
        until=parse_since(until),
        time_axis=time_axis,
        store=store,
    )
    sent = _notify(ws, project, report.new_alerts) if notify else 0
    if as_json:
        _dump(
            {"series": [s.as_dict() for s in report.series], "alerts": [a.as_dict() for a in report.alerts]}
        )
        return
    if not report.series:
        out.print(f"no verdicts in project [bold]{project}[/] for this selection")
        return
    out.print(series_table(report, last))
    if windows or len(report.series) == 1:
        for s in report.series:
            out.print(windows_table(s, report.tests[s.key], last))
    _print_alerts(report, sent)


def _print_alerts(report: Any, sent: int) -> None:
    from judgeloop.cli.loop_views import alerts_table

    cfg = report.config
    how = (
        f"CUSUM, fail odds x{cfg.cusum_odds}, in-control ARL {cfg.arl0:g} windows"
        if cfg.test == "cusum"
        else f"{cfg.test} test, {cfg.correction} at {cfg.alpha}"
    )
    if not report.alerts:
        out.print(f"no alerts ({how})")
        return
    out.print(alerts_table(report.alerts, f"alerts ({how})"))
    out.print(
        f"{len(report.new_alerts)} new or extended; drill down with "
        f"`judgeloop alerts -p {report.project} --show ID`"
        + (f"; {sent} sent to the webhook" if sent else "")
    )


def _notify(ws: Any, project: str, alerts: list[Any]) -> int:
    from judgeloop.monitor import notify

    return notify(ws, project, alerts) if alerts else 0


def alerts_command(
    project: ProjectOption,
    evaluator: EvaluatorOption = None,
    show: Annotated[int | None, typer.Option("--show", help="Drill down: the sessions of alert ID.")] = None,
    limit: Annotated[int, typer.Option(help="Alerts (or sessions with --show) to list.")] = 20,
    webhook: Annotated[str | None, typer.Option(help="POST the alerts as JSON to this URL.")] = None,
    send: Annotated[bool, typer.Option("--send", help="Send unsent alerts to the saved webhook.")] = False,
    resend: Annotated[
        bool, typer.Option("--all", help="With --webhook/--send: include alerts already sent.")
    ] = False,
    set_webhook: Annotated[
        str | None, typer.Option("--set-webhook", help="Save the project's webhook URL.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stored alerts, drill into one, or send them to a webhook."""
    from judgeloop.cli.loop_views import alerts_table, sessions_table
    from judgeloop.monitor import alert_sessions, list_alerts, notify
    from judgeloop.monitor import set_webhook as save_webhook
    from judgeloop.store import Workspace

    ws = Workspace(db)
    if set_webhook:
        save_webhook(ws, project, set_webhook)
        out.print(f"webhook for [bold]{project}[/] saved: {set_webhook}")
    if show is not None:
        rows = alert_sessions(ws, project, show, limit=limit)
        if as_json:
            _dump([r.as_dict() for r in rows])
        else:
            out.print(sessions_table(rows, f"alert {show}: sessions by surprise (vs the alert's baseline)"))
        return
    alerts = list_alerts(ws, project, evaluator, unsent=(webhook is not None or send) and not resend)
    if webhook or send:
        sent = notify(ws, project, alerts, webhook)
        out.print(f"sent {sent} alert(s) to {webhook or 'the saved webhook'}")
        return
    alerts = alerts[:limit]
    if as_json:
        _dump([a.as_dict() for a in alerts])
    elif alerts:
        out.print(alerts_table(alerts, f"alerts of {project}, newest first"))
    else:
        out.print(f"no alerts in project [bold]{project}[/]; run `judgeloop monitor -p {project}`")


def outliers_command(
    project: ProjectOption,
    evaluator: EvaluatorOption = None,
    limit: Annotated[int, typer.Option(help="Rows per list.")] = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
    include_train: Annotated[
        bool,
        typer.Option("--include-train", help="Also compare with humans on sessions evaluators trained on."),
    ] = False,
) -> None:
    """Sessions where evaluators disagree with each other or with humans; least confident verdicts."""
    from rich.table import Table

    from judgeloop.agreement.heldout import describe
    from judgeloop.monitor import find_outliers
    from judgeloop.store import Workspace

    found = find_outliers(Workspace(db), project, evaluator, limit=limit, include_train=include_train)
    if as_json:
        _dump(found)
        return
    vs_humans = f"evaluator vs humans, on {describe(found['human_rows'])} (evaluator, session pairs)"
    lists = [("evaluators disagree", found["evaluators"]), (vs_humans, found["human"])]
    lists += [(f"least confident: {n}", rows) for n, rows in found["low_confidence"].items()]
    for title, rows in lists:
        table = Table("session", "strength", "detail", title=title, title_justify="left")
        for r in rows:
            detail = {k: v for k, v in r.items() if k not in ("session_id", "kind", "strength")}
            table.add_row(r["session_id"], f"{r['strength']:.3f}", json.dumps(detail, default=str))
        out.print(table if rows else f"{title}: none")


def automation_command(
    project: ProjectOption,
    evaluator: Annotated[str, typer.Option("--evaluator", "-e", help="Evaluator name or name@version.")],
    target_error: Annotated[float, typer.Option("--target-error", help="Highest error rate allowed.")] = 0.05,
    delta: Annotated[float, typer.Option(help="Allowed probability that the bound fails.")] = 0.1,
    save: Annotated[bool, typer.Option("--save", help="Store the rule in the project's settings.")] = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="Also show 1%, 5%, 10% targets: certified share, realised held-out error, stage shares.",
        ),
    ] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """How much review the evaluator can take over: a certified confidence threshold and its coverage."""
    from judgeloop.loop.risk import automation_rule
    from judgeloop.loop.risk_cascade import report_lines, stored_report
    from judgeloop.store import Workspace

    ws = Workspace(db)
    rule, facts = automation_rule(ws, project, evaluator, target=target_error, delta=delta, save=save)
    rows, stages = stored_report(ws, project, evaluator, delta=delta) if report else ([], None)
    if as_json:
        _dump({"rule": rule.as_dict(), **facts, "report": rows, "stages": stages})
        return
    out.print(
        f"[bold]{evaluator}[/] on [bold]{project}[/]: {rule.n_calibration} held-out human labels "
        f"({facts['excluded_training']} training sessions left out), label threshold {rule.threshold:.3f}"
    )
    out.print(rule.describe())
    if rule.certified:
        band = rule.review_band() or (0.0, 1.0)
        out.print(
            f"needs review when {band[0]:.4f} < P(good) < {band[1]:.4f}; the evaluator decides "
            f"{rule.coverage:.1%} of sessions alone" + (" (rule saved)" if save else "")
        )
    if rows:
        out.print(
            f"automation report ({rows[0]['repeats']} random halves: certified on one, measured on the other"
            + (f"; share decided by each stage of the cascade {', '.join(stages)}" if stages else "")
            + "):"
        )
        for line in report_lines(rows, stages):
            out.print(line, highlight=False)


queue_app = typer.Typer(help="Review queues filled by active selection.", no_args_is_help=True)


@queue_app.command("fill")
def queue_fill_command(
    project: ProjectOption,
    strategy: Annotated[
        Literal["uncertainty", "disagreement", "failure-type", "random", "mixed"],
        typer.Option(help="How to pick the sessions."),
    ] = "mixed",
    n: Annotated[int, typer.Option("--n", "-n", help="Sessions to add.")] = 50,
    queue: Annotated[str, typer.Option(help="Queue name (created when missing).")] = "active",
    evaluator: EvaluatorOption = None,
    seed: Annotated[int, typer.Option(help="Seed for the random part.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create or extend a review queue with the sessions a strategy picks."""
    from judgeloop.loop.queue_fill import fill_queue
    from judgeloop.store import Workspace

    report = fill_queue(Workspace(db), project, strategy, n, queue=queue, evaluator=evaluator, seed=seed)
    if as_json:
        _dump(report.__dict__)
        return
    what = "created" if report.created else "extended"
    out.print(
        f"queue [bold]{report.queue}[/] {what}: {report.added} session(s) added by {strategy}"
        + (f", {report.skipped} already queued" if report.skipped else "")
    )
    reasons: dict[str, int] = {}
    for _, reason, _ in report.items:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        out.print(f"  {count:4d}  {reason}")


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_command)
    app.command("alerts")(alerts_command)
    app.command("outliers")(outliers_command)
    app.command("automation")(automation_command)
    app.add_typer(queue_app, name="queue")
