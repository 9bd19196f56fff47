# Set-up is idempotent: `make test` / `make demo` create .venv and install what is needed.
VENV   := .venv
PY     := $(VENV)/bin/python
INTENT := $(VENV)/bin/intent
STAMP  := $(VENV)/.installed-stamp
SITE   := examples/campus/site.yaml
LAB    := examples/lab/site.yaml
# Debian packages the lab and its tests use; installed only when missing (needs root).
# graphviz draws `intent graph` (DejaVu is the font its pictures name, so layouts are the same everywhere);
# prometheus is the real server tests/test_exporter.py scrapes the exporter with.
DEBS   := iproute2 iputils-ping openssh-server openssh-client iperf3 graphviz fonts-dejavu-core prometheus

.PHONY: install system-deps mermaid-deps kernel-setup demo demo-plan test test-kernel lint typecheck bench bench-apply golden clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# fake-switches pins Twisted<17 in its metadata but runs on current Twisted (tests/fakeswitch_server.py)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps fake-switches==1.5.0
	touch $(STAMP)

install: $(STAMP) system-deps mermaid-deps

# Mermaid's own parser (npm), with which tests/test_graph.py checks the Mermaid that intent writes.
mermaid-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  test -d tests/mermaid/node_modules/mermaid || npm install --prefix tests/mermaid --no-audit --no-fund \
	    --no-package-lock --silent || echo "npm install failed: tests/test_graph.py cannot check Mermaid syntax and says so"; \
	else echo "npm not found: tests/test_graph.py cannot check Mermaid syntax and says so"; fi

system-deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages: $$missing (install them as root; the lab tests will skip)"; fi; \
	fi

# The main job on the built-in lab: build it, plan, apply, show the shaping, ping across VLANs,
# roll back, apply again and end with the verify table, remove the lab. Needs root.
demo: install
	$(INTENT) validate $(LAB)
	$(INTENT) lab up $(LAB)
	$(INTENT) plan $(LAB)
	$(INTENT) apply $(LAB) --yes
	@echo "--- tc classes on core1:eth2 (towards the video VLAN)"
	ip netns exec lab-core1 tc class show dev eth2
	@echo "--- ping from a VLAN 10 host to a VLAN 20 host"
	ip netns exec h-acc1-eth3 ping -c 3 -W 2 10.20.0.2
	$(INTENT) rollback $(LAB)
	$(INTENT) history $(LAB)
	@echo "--- apply again and prove it: measured with real traffic"
	$(INTENT) apply $(LAB) --yes
	$(INTENT) verify $(LAB); status=$$?; $(INTENT) lab down $(LAB); exit $$status

# Offline: plan the mixed-vendor campus against its saved running state (no root needed).
demo-plan: install
	$(INTENT) validate $(SITE)
	$(INTENT) plan $(SITE) --running examples/campus/running

# The whole suite. Where this machine can (root, Debian packages: CI here can), it first sets up the
# full-kernel tier, so tests/test_full_kernel.py runs too; elsewhere that test says why it skips.
# Two workers (pytest-xdist), each in a network namespace of its own as root (tests/conftest.py); tests
# marked `measures` run alone. Every skip is listed with its reason in the summary (-ra).
test: install lint typecheck
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then ./tests/kernel/setup.sh; \
	else echo "full-kernel tier not set up (needs root and apt): tests/test_full_kernel.py will skip"; fi
	$(PY) -m pytest -n 2 --durations=15

kernel-setup:
	./tests/kernel/setup.sh

# The full-kernel tier alone: qemu (software emulation) boots a Debian kernel with fq_codel and 802.1Q.
test-kernel: install kernel-setup
	$(PY) -m pytest tests/test_full_kernel.py -s

lint: install
	$(VENV)/bin/ruff check engine intents drivers tests intent_engine

typecheck: install
	$(VENV)/bin/mypy

# Campus 1,000 devices and the L3 leaf-spine (every leaf a gateway) at 250, 1,000 and 10,000, each with
# seconds per stage, peak RSS, config lines and the ratio to the floor measured in the same run.
bench: install
	$(PY) tests/bench/plan_scale.py

bench-apply: install
	$(PY) tests/bench/apply_scale.py

golden: install
	$(PY) -m pytest tests/test_golden.py --update-golden

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
