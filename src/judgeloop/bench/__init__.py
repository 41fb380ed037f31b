"""Public benchmarks judgeloop can score: AlpacaEval-style win rates and others."""
