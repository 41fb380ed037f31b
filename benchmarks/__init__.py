"""The experiments behind BENCHMARKS.md (not shipped; the public benchmark scorers are `judgeloop.bench`).

Run one from the repository root as a module, so that the scripts can import each other:

    PYTHONPATH=src python -m benchmarks.NAME [options]      # e.g. python -m benchmarks.loop_risk

Each script's docstring gives its options and where it writes its results (`benchmarks/results/`).
"""
