# castapp: `make run` starts the main job, `make test` runs every test, `make bench` the benchmarks.
# Each target first sets up what is missing (Debian packages as root, .venv, Python packages).

.PHONY: setup run serve test lint bench i18n package

setup:
	@bash scripts/setup.sh

# The receiver window with its built-in room service; on a machine without a display, the
# same receiver prints its code and status lines instead.
run: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then .venv/bin/castapp receive; \
	else echo "make run: no display, starting the receiver without a window"; \
	  .venv/bin/castapp receive --headless; fi

# A standalone room service for many receivers and senders.
serve: setup
	.venv/bin/castapp serve --host 127.0.0.1 --port 8765

i18n: setup
	bash scripts/i18n.sh

# The window tests run in a pytest process of their own: their one QApplication (and what
# windows leave in it) stays out of the other tests' process. Both parts always run.
test: setup
	@status=0; \
	.venv/bin/python -m pytest -q --ignore=tests/gui || status=$$?; \
	.venv/bin/python -m pytest -q tests/gui || status=$$?; \
	exit $$status

# ruff everywhere; mypy strict on the core (castapp/ minus gui/, see [tool.mypy] in pyproject.toml)
lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python benchmarks/run_all.py

# The frozen app, a portable tarball and a Debian package in build/package (see packaging/).
package: setup
	.venv/bin/python packaging/build_linux.py --out build/package --compress xz
