"""Evaluators: learned models, LLM judges, reference metrics and programmatic checks."""
