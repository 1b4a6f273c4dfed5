# signage: the two commands a fresh Debian 12 machine needs are `make demo` and `make test`.
# Every target is idempotent and fast when everything is already installed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: CJK fonts for slides, Xvfb and the xcb libraries PyQt6's xcb plugin needs for a real
# window, python3-venv for the venv itself, PostgreSQL for the hub's tests, systemd for
# `systemd-analyze verify` of the kiosk units, chromium and chromium-driver for the console's browser test
# (Selenium is given /usr/bin/chromedriver, so it never downloads a driver or a browser; the benchmarks
# compare against the same chromium; chromium-l10n so its own widgets, file inputs and date pickers, speak
# Chinese in the screenshots), nginx (the hub's front in docs/deploy.md, to check its config) and
# gettext (msgfmt compiles the console's translations).
DEB_PACKAGES := fonts-noto-cjk xvfb xauth libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 \
	libxkbcommon-x11-0 libxcb-cursor0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 \
	libegl1 libgl1 libfontconfig1 libdbus-1-3 python3-venv postgresql systemd \
	chromium chromium-driver chromium-l10n nginx gettext

.PHONY: test lint typecheck pytest pytest-postgres test-stress demo deps venv bench sample clean install boot-test messages

test: venv lint typecheck pytest

demo: venv
	$(BIN)/signage demo

deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PACKAGES) 2>/dev/null \
		| awk '$$NF == "installed" {print $$1}' | sort | comm -13 - <(tr ' ' '\n' <<< "$(DEB_PACKAGES)" | sort)); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "make deps: not Debian; install by hand: $$missing" >&2; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make deps: not root; missing Debian packages: $$missing" >&2; exit 0; fi; \
	echo "make deps: installing $$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null

venv: $(STAMP)

$(STAMP): pyproject.toml | deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# The whole suite (the hub's database on SQLite), then the hub's database tests again on a real, throwaway
# PostgreSQL cluster (tests/hub/postgres.py: started here, stopped afterwards, also on failure; run as the
# postgres user when root).
pytest: venv
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory pytest-postgres

pytest-postgres: venv
	$(BIN)/python -m tests.hub.postgres -q -p no:cacheprovider -m django_db tests/hub $(wildcard tests/console)

# Shake out timing flakes: pytest pinned to one CPU beside a busy loop pinned to the same CPU, so every test
# gets half a core and is preempted at any instant, as on a loaded machine. Not part of `make test`.
#   make test-stress                                   the whole suite once
#   make test-stress PYTEST_ARGS='tests/x.py::test_y' COUNT=40   one test, 40 separate runs, counted
# The busy loop is killed on exit, also on failure or Ctrl-C.
STRESS_CPU ?= 0
COUNT ?= 1
PYTEST_ARGS ?=
test-stress: venv
	@busy=; trap 'if [ -n "$$busy" ]; then kill $$busy 2>/dev/null; fi' EXIT; trap 'exit 130' INT TERM HUP; \
	taskset -c $(STRESS_CPU) bash -c 'while :; do :; done' & busy=$$!; \
	echo "make test-stress: busy loop $$busy and pytest pinned to CPU $(STRESS_CPU); $(COUNT) run(s)"; \
	passed=0; failed=0; \
	for run in $$(seq 1 $(COUNT)); do \
		if taskset -c $(STRESS_CPU) $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS); then \
			passed=$$((passed + 1)); else failed=$$((failed + 1)); echo "make test-stress: run $$run failed"; fi; \
	done; \
	echo "make test-stress: $$passed of $(COUNT) runs passed, $$failed failed"; \
	[ "$$failed" = 0 ]

# Every benchmark, then docs/benchmarks.md rewritten (about 45 minutes on two cores; see bench/__main__.py).
# The Chromium kiosk it compares against is Debian's chromium (in DEB_PACKAGES); py-spy profiles.
bench: venv $(VENV)/.bench-installed
	$(BIN)/python -m bench

$(VENV)/.bench-installed: pyproject.toml | venv
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

# The console's English: collect every Chinese msgid of signage/operator/hub into locale/en/LC_MESSAGES/django.po
# (new ones arrive with an empty msgstr: translate them), then compile django.mo, which Django loads.
# tests/console/test_i18n.py fails while a msgstr is empty or django.mo is older than django.po.
messages: venv
	cd signage/operator/hub && PYTHONPATH=$(CURDIR) DJANGO_SETTINGS_MODULE=signage.operator.hub.settings \
		$(CURDIR)/$(BIN)/python -m django makemessages -l en --ignore 'migrations/*' --add-location file --no-obsolete
	cd signage/operator/hub && PYTHONPATH=$(CURDIR) DJANGO_SETTINGS_MODULE=signage.operator.hub.settings \
		$(CURDIR)/$(BIN)/python -m django compilemessages -l en

sample: venv
	$(BIN)/python playlists/generate_sample.py

# Boot what users install: a Debian 12 image with deploy/install.sh run inside, booted in QEMU (KVM when it
# works, TCG otherwise), checked for a slide, a watchdog restart and a power cut. Root, Debian 12; not part of
# `make test`. About 6 to 8 minutes without KVM, the first run included (it caches the base image in .boot-cache/).
# See docs/installer-guide.md, "What you should see".
boot-test: venv
	$(BIN)/python tests/boot/run.py

# Set this machine up as a screen (Debian 12, as root); idempotent. See docs/installer-guide.md.
install:
	deploy/install.sh --source $(CURDIR)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
