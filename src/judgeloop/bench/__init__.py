"""Public benchmarks judgeloop can score (the experiments behind BENCHMARKS.md are the top-level
`benchmarks/` package, not this one).

- `ifeval` (+ `ifeval_checks`, `ifeval_text`): IFEval's verifiable instructions.
- `winrate` (+ `winrate_learned`): AlpacaEval-style win rates, by an LLM judge or a learned comparator.
- `mtbench` (+ `mtbench_judge`, the 1-10 single-answer grader with FastChat's prompts): MT-Bench.
- `preference_sets`: public human-preference sets (PandaLM, LLMBar, HH-RLHF) as pairwise examples.
"""
