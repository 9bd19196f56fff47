# Set-up is idempotent: `make test` / `make demo` create .venv and install what is needed.
VENV   := .venv
PY     := $(VENV)/bin/python
INTENT := $(VENV)/bin/intent
STAMP  := $(VENV)/.installed-stamp
SITE   := examples/campus/site.yaml

.PHONY: install demo test lint typecheck bench golden clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(INTENT) validate $(SITE)
	$(INTENT) plan $(SITE) --running examples/campus/running

test: install lint typecheck
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check engine intents drivers tests

typecheck: install
	$(VENV)/bin/mypy

bench: install
	$(PY) tests/bench/plan_scale.py

golden: install
	$(PY) -m pytest tests/test_golden.py --update-golden

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
