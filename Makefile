# Two commands set everything up on a fresh machine (see README.md):
#   make demo   installs what the project needs, then runs the demo on http://127.0.0.1:8080
#   make test   installs what the project needs (and Chromium for the browser test), then runs the tests
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PORT ?= 8080

.PHONY: setup demo test test-late-clock lint typecheck browser

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	$(UV) sync --frozen

demo: setup
	$(UV) run --frozen pension-bot demo --port $(PORT)

# Chromium for the browser tests, and a TrueType Chinese font the PDFs embed (the quarterly
# report, the recovery letter), from Debian's packages (Playwright drives Chromium; it
# downloads no browser). Without them the browser tests skip and the PDFs name a font instead
# of embedding one (verification/documents/fonts.py).
WQY_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -f $(WQY_FONT) ]; } || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-wqy-microhei >/dev/null) \
		|| echo "chromium or the Chinese font not installed: the browser tests skip, PDFs do not embed their font"; }

lint: setup
	$(UV) run --frozen ruff check .

# Types of the domain and storage packages ([tool.mypy] in pyproject.toml says how strict, where).
typecheck: setup
	$(UV) run --frozen mypy

# The suite on every core (pytest-xdist; each worker has its own databases), then the few
# tests that measure time or load, alone.
PYTEST := $(UV) run --frozen pytest -q
test: setup browser lint typecheck
	$(PYTEST) -n auto -m "not serial"
	$(PYTEST) -m serial

# The suite again from a late evening in UTC at a month and year end (already the next day,
# month and year in Shanghai), so a date bug fails in CI rather than in production.
LATE_CLOCK ?= 2026-12-31T23:30:00+00:00
test-late-clock: setup
	$(PYTEST) -n auto -m "not serial" --clock=$(LATE_CLOCK)
	$(PYTEST) -m serial --clock=$(LATE_CLOCK)
