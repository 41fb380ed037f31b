"""SFT model evaluation: generate responses from the model under test, evaluate them with every method
(programmatic checks, IFEval, reference metrics, LLM judge, learned evaluator) side by side, measure each
against human labels, and report the comparison. See `judgeloop run` and `judgeloop report`."""

from __future__ import annotations

from judgeloop.sfteval.report import build_report, load_results
from judgeloop.sfteval.run import RunOptions, run_evaluation

__all__ = ["RunOptions", "build_report", "load_results", "run_evaluation"]
