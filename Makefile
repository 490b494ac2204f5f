# Haven's two entry points for a newcomer: `make run` and `make test`.
# Everything installs into .venv (Python) and web/node_modules (JavaScript);
# nothing is installed system-wide except what .ci/run starts for CI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := web/node_modules/.installed

.PHONY: run test test-compose test-cluster docker lint typecheck imports unit disruptive unit-rabbitmq4 disruptive-rabbitmq4 broker-rabbitmq4 venv bench bench-router bench-scale bench-receipt bench-receipt-browser bench-mailbox bench-inbox clean broker browser schemas lock audit

# Supply chain (docs/operators.md, "Dependencies"): every Python package,
# transitive ones included, comes from a lock in requirements/ and is checked
# against its hashes, so a tampered or re-uploaded release on the index fails
# the install instead of running in the intake or on a partner's laptop.
# pip and uv first (tools.txt), then the dev lock, then Haven itself with
# --no-deps and no build isolation (the locked setuptools builds it). The
# venv is made anew whenever a lock or pyproject.toml changes, so it holds
# what the locks hold and nothing a lock has since dropped.
REQ        := requirements
TOOLS      := $(VENV)/.tools
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes

$(STAMP): pyproject.toml $(REQ)/tools.txt $(REQ)/dev.txt
	$(PYTHON) -m venv --clear $(VENV)
	$(PIP_LOCKED) -r $(REQ)/tools.txt
	$(PIP_LOCKED) -r $(REQ)/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(TOOLS) $@

# Only uv, for `make lock` on a machine without .venv yet.
$(TOOLS): $(REQ)/tools.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_LOCKED) -r $(REQ)/tools.txt
	touch $@

# `make lock`: regenerate every lock from pyproject.toml and requirements/tools.in
# (uv, pinned in tools.in); run it after changing a dependency. Versions already
# locked are kept unless `make lock LOCK_ARGS=--upgrade`. The dev lock is
# constrained by the other locks: the tests run the versions the image ships,
# and the pip that installs them is the pip tools.txt pins.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-config --quiet \
	--custom-compile-command 'make lock' $(LOCK_ARGS)
# A lock a merge left with conflict markers is dropped and made anew (uv reads
# the old lock to keep its versions, and cannot read one with markers).
lock: $(TOOLS)
	@for f in $(REQ)/*.txt; do grep -q '^<<<<<<< ' $$f && echo "make lock: $$f had merge conflicts; made anew" && rm -- $$f; done; true
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(REQ)/tools.in -o $(REQ)/tools.txt
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
		| $(BIN)/uv pip compile $(LOCK_FLAGS) - -o $(REQ)/build.txt
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml -o $(REQ)/runtime.txt
	$(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml --extra dev -c $(REQ)/runtime.txt -c $(REQ)/tools.txt -c $(REQ)/build.txt -o $(REQ)/dev.txt

# `make audit`: the locked Python packages (pip-audit) and web/'s npm packages
# (npm audit) against known vulnerabilities. Exit 0: none known; 1: some found;
# 2: the vulnerability data could not be reached, said in one line: never a
# silent pass (.github/workflows/audit.yml runs it where the data is reachable).
audit: $(STAMP)
	@$(BIN)/python scripts/audit

# web/src reads the generated JSON Schema with import attributes, which
# Node.js has from 20.10 (and 18.20): say so in one line on an older one.
$(NODE_STAMP): web/package.json web/package-lock.json
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' \
		|| { echo "Haven's web side needs Node.js 20.10 or newer; this is $$(node --version)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP)

# The tests and the demo talk to a real RabbitMQ on 127.0.0.1:5672.
broker:
	scripts/ensure-rabbitmq

# The private RabbitMQ 4 test node (the compose stack's pinned image) on
# 127.0.0.1:5682, for the broker-facing tests on both releases.
broker-rabbitmq4:
	scripts/ensure-rabbitmq4

# The web form's tests drive Debian's chromium (Playwright, no browser download).
browser:
	scripts/ensure-chromium

# The demo finds its broker itself (haven.cli.broker_find): the configured
# one, else a compose stack or a local rabbitmq-server it starts.
run: $(STAMP)
	$(BIN)/haven demo --serve

lint: $(STAMP)
	$(BIN)/ruff check haven intake worker schemas tests bench scripts
	$(BIN)/ruff format --check haven intake worker schemas tests bench scripts
	$(BIN)/bandit -q -c pyproject.toml -r haven intake worker schemas

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# The tests in two steps: everything else first, then the tests marked
# `disruptive` (they stop the broker application or raise a memory alarm).
# Each pytest run locks the broker (tests/conftest.py): shared for ordinary
# runs, exclusive for disruptive ones, so two runs on one machine never
# stop the broker under each other; a run that must wait says so and waits.
# pytest's exit 5 (nothing collected, e.g. no disruptive test) is no failure.
unit: $(STAMP) $(NODE_STAMP) broker browser
	$(BIN)/pytest -W error -m "not disruptive and not compose and not cluster" || [ $$? -eq 5 ]

disruptive: $(STAMP) broker
	$(BIN)/pytest -W error -m disruptive || [ $$? -eq 5 ]

# The broker-facing tests (every test marked or fixtured `broker`) once more,
# on RabbitMQ 4.0 (the release the compose stack runs), in the same two
# steps; the RabbitMQ 4 node has a lock of its own (docs/operators.md,
# "RabbitMQ 3.10 and 4.0").
unit-rabbitmq4: $(STAMP) $(NODE_STAMP) broker-rabbitmq4 browser
	HAVEN_TEST_BROKER=rabbitmq4 $(BIN)/pytest -W error -m "broker and not disruptive" || [ $$? -eq 5 ]

disruptive-rabbitmq4: $(STAMP) broker-rabbitmq4
	HAVEN_TEST_BROKER=rabbitmq4 $(BIN)/pytest -W error -m "broker and disruptive" || [ $$? -eq 5 ]

# Sequential even under make -j: the disruptive steps come after the
# others, then the compose stack and the three-node cluster under Docker.
test: lint typecheck imports
	$(MAKE) unit
	$(MAKE) unit-rabbitmq4
	$(MAKE) disruptive
	$(MAKE) disruptive-rabbitmq4
	$(MAKE) test-compose
	$(MAKE) test-cluster

# The compose stack, up for real (tests/compose/test_stack.py): a Docker
# engine with `docker compose` (scripts/ensure-docker), the pinned images or
# their stand-ins built from Debian's archive (scripts/standin-images).
docker:
	scripts/ensure-docker
	scripts/standin-images

test-compose: $(STAMP) docker
	$(BIN)/pytest -W error -m compose tests/compose

# The three-node broker (tests/compose/test_cluster.py): the cluster formed
# and every quorum queue on three nodes, asked from the nodes themselves;
# then 2,000 requests while the intake queue's leader node is killed and
# the routers' node is stopped, each started again. About 3 minutes.
test-cluster: $(STAMP) docker
	$(BIN)/pytest -W error -m cluster tests/compose

# schemas/json/: the marshmallow schemas as JSON Schema (docs/json-schema.md).
# Commit the result; tests/schemas/test_json_schema.py fails while it differs.
schemas: $(STAMP)
	$(BIN)/haven schemas export

bench: $(STAMP)
	$(BIN)/python bench/envelope_bench.py

# The router against a bare pika relay on the same broker (needs RabbitMQ).
bench-router: $(STAMP) broker
	$(BIN)/python bench/router_bench.py --requests 2000 --rounds 3

# Throughput against processes: the intake with 1 and 2 gunicorn workers,
# 1, 2 and 4 routers, each against a bare pika confirmed publish, on the
# local RabbitMQ and on the compose stack's three RabbitMQ 4 nodes (Docker,
# run as root; SCALE_ARGS=--no-cluster for the local broker alone).
SCALE_ARGS ?=
bench-scale: $(STAMP) broker $(if $(findstring --no-cluster,$(SCALE_ARGS)),,docker)
	$(BIN)/python bench/scale_bench.py --requests 2000 --rounds 3 $(SCALE_ARGS)

# Receipt-code derivation: native Argon2id against Node's WebAssembly one
# (docs/replies-v1.md section 1.7).
bench-receipt: $(STAMP) $(NODE_STAMP)
	$(BIN)/python bench/receipt_bench.py --rounds 9

# A page's first derivation in Chromium, unthrottled and with 4x CPU
# throttling (docs/replies-v1.md section 1.7).
bench-receipt-browser: $(STAMP) browser
	$(BIN)/python bench/receipt_browser.py --rounds 9

# Mailbox fetches through the intake on PostgreSQL, against a bare SELECT
# and the challenge endpoint measured in the same run (needs PostgreSQL).
bench-mailbox: $(STAMP)
	scripts/ensure-postgresql
	$(BIN)/python bench/mailbox_bench.py --mailboxes 100 --messages 10 --rounds 5

bench-inbox: $(STAMP)
	$(BIN)/python bench/inbox_bench.py --requests 200 --rounds 3

clean:
	rm -rf $(VENV) web/node_modules .mypy_cache .pytest_cache .ruff_cache
