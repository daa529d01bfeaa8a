# One command each: `make demo` runs the main job, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-kafka test serve bench screenshots clean

# rustup installs cargo in ~/.cargo/bin, which a non-login shell (CI) may not have on its PATH.
export PATH := $(HOME)/.cargo/bin:$(PATH)
NATIVE_SRC := native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs)

# The native core (native/, PyO3 + maturin) is built here: it needs Rust's cargo, and there is no silent
# fallback at install time (the Python path is still what runs when the module is absent at run time).
$(STAMP): pyproject.toml $(NATIVE_SRC)
	@command -v cargo >/dev/null || { echo "error: cargo (Rust) is needed to build the native core in native/;" \
		"install Rust (rustup) and run make again" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet ./native
	touch $(STAMP)

DEMO_DB := sqlite:///.signal-factory/demo.db

demo: $(STAMP)
	$(BIN)/signal-factory config check examples/orders
	$(BIN)/signal-factory enforce --config examples/orders --out .signal-factory/evidence.jsonl \
		examples/orders/records/*.jsonl
	rm -f .signal-factory/demo.db*
	$(BIN)/signal-factory replay --config examples/orders --db $(DEMO_DB) --no-send \
		--deployments examples/orders/scenario1/deployments.jsonl examples/orders/scenario1/traffic.jsonl
	$(BIN)/signal-factory incidents list --db $(DEMO_DB)
	$(BIN)/signal-factory rca INC-1 --db $(DEMO_DB)
	@echo
	@echo "See INC-1 in the web UI:  $(BIN)/signal-factory serve --db $(DEMO_DB)"
	@echo "                          then open http://127.0.0.1:8080/incidents/INC-1"

demo-kafka: $(STAMP)
	bash scripts/demo-kafka.sh

serve: $(STAMP)
	$(BIN)/signal-factory serve --config examples/orders --db $(DEMO_DB)

test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-airflow.sh
	bash scripts/ensure-kafka.sh
	$(BIN)/ruff check src tests benchmarks plugins
	$(BIN)/mypy
	SIGNAL_FACTORY_NATIVE=1 $(BIN)/pytest

# docs/screenshots/*.png: every page of the web UI over the Scenario 1 demo store (1366x768, Chromium).
screenshots: $(STAMP)
	bash scripts/ensure-chromium.sh
	$(BIN)/python scripts/screenshots.py --out docs/screenshots

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_enforcer

clean:
	rm -rf $(VENV) .signal-factory .pytest_cache .ruff_cache .mypy_cache
