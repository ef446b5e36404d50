# idgraph: `make run` serves gRPC over a local (or configured) Neo4j; `make test` runs every test.
# Both install whatever is missing first: the virtualenv, the Neo4j jars, the gRPC stubs, the
# compiled core, the Node example's packages; `make test` also buf and Debian's chromium.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP    := $(VENV)/.installed
NEO4J_LIB   := .neo4j/lib
NEO4J_STAMP := $(NEO4J_LIB)/.installed
NEO4J_POM   := docker/neo4j-local/pom.xml
PROTOS      := $(wildcard proto/idgraph/v1/*.proto)
STUBS       := idgraph/v1/identity_pb2.py
# The compiled resolution core (mypyc): rebuilt when any domain module changes.
CORE_STAMP  := build/.core-compiled
CORE_DEPS   := $(wildcard idgraph/domain/*.py) idgraph/record_json.py setup.py pyproject.toml
# The Node client example (examples/node), run by an end-to-end test.
NODE_STAMP  := examples/node/node_modules/.installed
# buf (lint and breaking-change checks of proto/), pinned, built with `go install`.
BUF_VERSION := v1.75.0
TOOLS       := .tools/bin
BUF         := $(TOOLS)/buf-$(BUF_VERSION)
# Debian's Chromium, which the steward console's browser tests drive (through Playwright),
# with a font for Chinese names.
CHROMIUM    := /usr/bin/chromium
CJK_FONT    := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
SUDO        := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test deps compile pure gen check-gen lint typecheck proto-check bench clean

run: deps
	$(BIN)/idgraph serve

test: deps proto-check $(CHROMIUM) $(CJK_FONT)
	$(BIN)/ruff check idgraph tests bench server.py setup.py
	$(BIN)/mypy idgraph
	$(BIN)/pytest

deps: $(PY_STAMP) $(NEO4J_STAMP) $(STUBS) $(CORE_STAMP) $(NODE_STAMP)

$(CHROMIUM) $(CJK_FONT):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-wqy-zenhei

# `npm ci` installs exactly what package-lock.json pins.
$(NODE_STAMP): examples/node/package.json examples/node/package-lock.json
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BUF):
	mkdir -p $(TOOLS)
	GOBIN=$(abspath $(TOOLS)) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	mv $(TOOLS)/buf $@

# buf lint, and buf breaking against the previous commit (when it has a buf module).
proto-check: $(BUF)
	cd proto && ../$(BUF) lint
	if git cat-file -e HEAD~1:proto/buf.yaml 2>/dev/null; then \
	    $(BUF) breaking proto --against '.git#ref=HEAD~1,subdir=proto'; \
	else echo "buf breaking: the previous commit has no buf module to compare with"; fi

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# mypyc compiles the modules pyproject.toml lists under [tool.idgraph] compiled, in place.
$(CORE_STAMP): $(CORE_DEPS) | $(PY_STAMP)
	IDGRAPH_COMPILE=1 $(BIN)/python setup.py --quiet build_ext --inplace
	touch idgraph/*.so idgraph/domain/*.so  # built from the sources as they are now
	mkdir -p build && touch $@

compile: $(CORE_STAMP)

# Remove the compiled modules: the same source runs interpreted.
pure:
	rm -f idgraph/*.so idgraph/domain/*.so $(CORE_STAMP)

# Neo4j Community 5.26 LTS from Maven Central, run as a local process (no Docker needed).
$(NEO4J_STAMP): $(NEO4J_POM)
	rm -rf $(NEO4J_LIB)
	mvn --batch-mode --quiet -f $(NEO4J_POM) dependency:copy-dependencies \
	    -DincludeScope=runtime -DoutputDirectory=$(abspath $(NEO4J_LIB))
	touch $@

# Generated stubs are committed; this regenerates them when a .proto changes.
$(STUBS): $(PROTOS) | $(PY_STAMP)
	$(BIN)/python -m idgraph.codegen --out .

gen: $(PY_STAMP)
	$(BIN)/python -m idgraph.codegen --out .

lint: $(PY_STAMP)
	$(BIN)/ruff check idgraph tests bench server.py setup.py

typecheck: $(PY_STAMP)
	$(BIN)/mypy idgraph

bench: deps
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) .neo4j build idgraph/*.so idgraph/domain/*.so .pytest_cache .mypy_cache .ruff_cache
