.PHONY: demo test install lint

# Create .venv, install judgeloop, and run the end-to-end demo on the bundled data.
demo: install
	.venv/bin/judgeloop demo --out demo-out

# Install everything (Python packages, Chromium, PostgreSQL) and run the whole test suite.
test:
	bash scripts/test.sh

install:
	bash scripts/install.sh

lint: install
	.venv/bin/ruff check src tests benchmarks && .venv/bin/mypy
