# castapp: `make run` starts the main job, `make test` runs every test, `make bench` the benchmarks.
# Each target first sets up what is missing (Debian packages as root, .venv, Python packages).

.PHONY: setup run serve test lint bench

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/castapp serve --host 127.0.0.1 --port 8765

serve: run

test: setup
	.venv/bin/python -m pytest -q

lint: setup
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python benchmarks/run_all.py
