"""Seed the benchmark project inside PostgreSQL (INSERT ... SELECT FROM generate_series), for 10M sessions.

The same shape as `dashboard_render.rows_of` (sessions over 30 days; the champion `support@1` with a
probability on 5 of 6 sessions, good with probability 0.88, 0.6 on the last two days, p ~ N(0.8 or 0.2,
0.12) clipped to [0.01, 0.99]; a second evaluator `judge` without probability on a tenth, right 80% of
the time; a human label on 1%), drawn by PostgreSQL's random() instead of Python's: the same
proportions, not the same rows. No row crosses the client, so 10M sessions take minutes, not hours.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

STEP = 1_000_000  # sessions per statement: progress lines, and transactions of bounded size

GOOD = """
CREATE TEMP TABLE bench_good AS
SELECT i, at, good,
       least(0.99, greatest(0.01, (CASE WHEN good THEN 0.8 ELSE 0.2 END)
             + 0.12 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))) AS p
FROM (SELECT i, at, random() < CASE WHEN at > %(late)s THEN 0.6 ELSE 0.88 END AS good
      FROM (SELECT i, %(start)s::timestamptz + make_interval(secs => 30 * 86400.0 * i / %(n)s) AS at
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i) t) g
"""
SESSIONS = """
INSERT INTO sessions (pk, project_id, uid, model_input, model_output, metadata, source, content_hash,
                      created_at)
SELECT i + 1, %(pid)s, 's' || i, to_json('question ' || i), 'answer ' || i, '{}'::json, 'bench', 'h' || i, at
FROM bench_good ORDER BY i
"""
VERDICTS = """
INSERT INTO verdicts (project_id, session_pk, evaluator, version, label, probability, threshold, status,
                      scores, created_at)
SELECT %(pid)s, i + 1, e.evaluator, e.version,
       CASE WHEN e.evaluator = 'support' THEN (p >= 0.5)::int
            ELSE (CASE WHEN random() < 0.8 THEN good ELSE NOT good END)::int END,
       CASE WHEN e.evaluator = 'support' THEN p END,
       CASE WHEN e.evaluator = 'support' THEN 0.5 END, 'ok', '{}'::json, at
FROM bench_good
CROSS JOIN (VALUES (1, 'support', '1'), (2, 'judge', NULL)) AS e(ord, evaluator, version)
WHERE i %% 6 <> 5 AND (e.ord = 1 OR i %% 10 = 0)
ORDER BY i, e.ord
"""
LABELS = """
INSERT INTO labels (project_id, session_pk, reviewer, kind, good, failure_tags, metadata, created_at)
SELECT %(pid)s, i + 1, 'r0', 'binary', good, '[]'::json, '{}'::json, at
FROM bench_good WHERE i %% 6 <> 5 AND i %% 100 = 0 ORDER BY i
"""


def seed_sql(url: str, n: int, now: datetime, project: str) -> float:
    """Seed `project` with `n` sessions in the database at `url` (PostgreSQL); the seconds it took."""
    from judgeloop.store import Workspace

    started = time.perf_counter()
    ws = Workspace(url)  # runs the migrations: the tables and their indexes exist before the rows
    with ws.db() as db:
        pid = ws.project_id(db, project, create=True)
    start, late = now - timedelta(days=30), now - timedelta(days=2)
    raw = ws.engine.raw_connection()
    try:
        cur = raw.cursor()
        for lo in range(0, n, STEP):
            args = {"pid": pid, "n": n, "lo": lo, "hi": min(n, lo + STEP), "start": start, "late": late}
            for sql in (GOOD, SESSIONS, VERDICTS, LABELS, "DROP TABLE bench_good"):
                cur.execute(sql, args)
            raw.commit()
            print(
                f"seeded {min(n, lo + STEP):,} sessions ({time.perf_counter() - started:.0f} s)", flush=True
            )
        cur.execute("SELECT setval('sessions_pk_seq', (SELECT max(pk) FROM sessions))")
        raw.commit()
    finally:
        raw.close()
    with ws.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # the steady state autovacuum reaches (visibility map set)
    ws.close()
    return time.perf_counter() - started
