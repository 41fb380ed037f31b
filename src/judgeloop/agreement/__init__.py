"""Agreement with the humans, in one home.

- `evaluators`: how well any evaluator (learned model, judge, metric, check) agrees with the human
  labels (`evaluator_agreement`, what `judgeloop agreement` prints).
- `reviewers`: how much reviewers agree with each other, and evaluators with reviewers (the agreement page).
- `heldout`: which sessions an evaluator trained on, so agreement is measured on rows it has not seen.

The statistics themselves (kappa, bootstrap CIs) are in `judgeloop.stats`.
"""

from judgeloop.agreement.evaluators import evaluator_agreement

__all__ = ["evaluator_agreement"]
