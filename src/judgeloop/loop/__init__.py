"""The improvement loop: pick what humans review next, certify how much can be automated, retrain.

- `selection`: active selection of the next review batch (strategies and their pure rankers).
- `queue_fill`: fill a review queue from a selection strategy.
- `risk`: a confidence threshold with a risk guarantee (Learn-then-Test) for one evaluator.
- `risk_cascade`: the same for a cascade of evaluators, and the automation report.
- `retrain`: a candidate on all of a project's labels, promoted only when it beats the champion.
"""
