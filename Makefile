# One entry point for people and CI. Every target sets up what it needs.
#   make serve        run the service on the embedded demo network (runtime deps only; HOST=, PORT=)
#   make test         set up and run the test suite
#   make debug        the core with bounds checks and invariant checks, in place
#   make bench        core micro-benchmarks (pytest-benchmark)
#   make bench-smoke  every benchmark briefly, answers checked (CI)
#   make protos       regenerate dompromise/v1 from protos/
#   make lint         ruff: lint and format check
#   make typecheck    mypy --strict over the hand-written package
#   make check        what CI checks besides tests: protos up to date, buf lint/format, ruff, mypy

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BUF    := npx --yes @bufbuild/buf@1.75.0
CORE   := $(wildcard dompromise/_core/*.pyx dompromise/_core/*.pxd dompromise/_core/*.pxi dompromise/wire/*.pyx dompromise/wire/*.pxd dompromise/inventory/*.pyx)
STAMP  := $(VENV)/.installed
# `make serve` needs only the runtime dependencies (and the core's build tools): no test or benchmark extras.
RUNTIME := $(VENV)/.runtime
HOST   ?= 127.0.0.1
PORT   ?= 50051

.PHONY: setup build debug serve serve-setup wheel test bench bench-smoke protos check-protos lint-protos lint typecheck check annotate clean

setup: $(STAMP) build

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	DOMPROMISE_NO_EXTENSIONS=1 $(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Rebuild the extension in place whenever a .pyx/.pxd changed.
build: $(STAMP) $(CORE)
	$(PY) setup.py --quiet build_ext --inplace

# Runtime dependencies and the core's build tools, nothing else (a dev setup already has them all):
# the build tools go in first so the editable install builds with them (no isolated build env to download).
$(RUNTIME): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
		> $(VENV)/runtime-requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check "setuptools>=68" "Cython>=3.0.10" "numpy>=1.26" \
		-r $(VENV)/runtime-requirements.txt
	DOMPROMISE_NO_EXTENSIONS=1 $(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

serve-setup: $(RUNTIME) $(CORE)
	$(PY) setup.py --quiet build_ext --inplace

serve: serve-setup
	$(VENV)/bin/dompromise serve --host $(HOST) --port $(PORT)

# A wheel of dompromise (the core compiled) in dist/: `pip install dist/*.whl` on a machine like this one.
wheel: $(RUNTIME)
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir dist .

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-min-time=0.0001 --benchmark-columns=min,median,max,iqr,ops

# Seconds: every benchmark once with its answer checked, the gRPC ceiling comparison
# briefly (needs h2load, Debian's nghttp2-client; .ci/run installs it), `dompromise bench`
# end to end, the PostgreSQL baseline (needs the machine's PostgreSQL on 127.0.0.1:5432), and the
# shared Redis log (needs redis-server on PATH; starts its own), and `dompromise simulate --target`
# against a simulated-clock server (300 realistic orders).
bench-smoke: setup
	BENCH_SMOKE=1 $(PY) -m pytest benchmarks -q --benchmark-disable -p no:cacheprovider
	$(PY) -m benchmarks.grpc_ceiling --smoke
	$(PY) -m benchmarks.bench_runs smoke
	$(PY) -m benchmarks.pg_baseline --smoke --quiet
	$(PY) -m benchmarks.watch_latency --smoke
	$(PY) -m benchmarks.redis_bench all --smoke
	$(PY) -m benchmarks.http_counter --smoke
	$(PY) -m benchmarks.simulate_target --smoke

protos: $(STAMP)
	PYTHON=$(PY) scripts/gen_protos.sh

check-protos: protos
	git diff --exit-code -- dompromise/v1 dompromise/internal || (echo "generated code is stale: run make protos and commit" && exit 1)
	test -z "$$(git status --porcelain -- dompromise/v1 dompromise/internal)" || (echo "untracked generated files: run make protos and commit" && exit 1)

lint-protos:
	$(BUF) lint
	$(BUF) format --diff --exit-code

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(PY) -m mypy

check: check-protos lint-protos lint typecheck

# Bounds checks in every loop (an IndexError, not a stray read) and the invariants checked after
# every command; -O0 -g. Its C goes to build/debug-c. The .so it leaves in place looks up to date
# to `make build`: `make clean build` goes back to the release core.
debug: $(STAMP)
	DOMPROMISE_DEBUG=1 $(PY) setup.py --quiet build_ext --inplace --force

# cython -a: dompromise/_core/*.html, the C behind each line (fewer lines in a loop is faster).
annotate: $(STAMP)
	DOMPROMISE_ANNOTATE=1 $(PY) setup.py --quiet build_ext --inplace --force

clean:
	rm -rf build dompromise/_core/*.c dompromise/_core/*.so dompromise/_core/*.html
