# labreview: `make run` builds everything and starts the server on the
# embedded SQLite database; `make test` runs every test suite.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

BIN       := bin/labreview
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# nomsgpack: Gin's MessagePack binding (labreview reads JSON and forms only)
# would link github.com/ugorji/go/codec, 6 MB of the binary.
GOTAGS    := nomsgpack
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILDDATE)
GO_FILES  := $(shell find . -name '*.go' -not -path './frontend/*') go.mod go.sum
UI_FILES  := $(shell find frontend/src frontend/public -type f) frontend/index.html \
             frontend/vite.config.ts frontend/tsconfig.json frontend/tsconfig.app.json
NPM_STAMP := frontend/node_modules/.package-lock.json
# Go packages of this module (node_modules may hold stray .go files).
GO_PKGS    = $(shell go list ./... | grep -v /node_modules/)
UI_STAMP  := frontend/dist/index.html
STATICCHECK := v0.8.2

.PHONY: run build test test-go test-fuzz test-ui test-e2e test-mlflow lint bench bench-ingest bench-ui soak dev clean

## run: build the UI and the binary, then serve with ./config.yaml
run: build
	./$(BIN) serve --config config.yaml

## build: the React bundle, then the labreview binary with it embedded
build: $(BIN)

$(BIN): $(UI_STAMP) $(GO_FILES)
	CGO_ENABLED=0 go build -trimpath -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) .

$(UI_STAMP): $(NPM_STAMP) $(UI_FILES)
	cd frontend && npm run build

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

## test: Go tests (storage tests on SQLite and on FerretDB standing in for
## MongoDB), frontend unit tests, then
## browser tests with Chromium against the built binary
test: test-go test-fuzz test-ui test-e2e test-mlflow

## test-go: the Go tests, under the race detector
## when cgo is available for it (Go turns cgo off when no C compiler is on
## PATH; .ci/run installs gcc). Without it the tests run without -race and
## say so.
RACE ?= $(shell [ "$$(go env CGO_ENABLED)" = 1 ] && echo -race)
test-go:
	go vet $(GO_PKGS)
	@[ -n "$(RACE)" ] || echo "test-go: cgo is off (no C compiler?), so no race detector: apt-get install -y gcc"
	go test $(RACE) -count=1 -timeout 20m $(GO_PKGS)

## test-fuzz: each fuzz target for FUZZEXECS new inputs (default 10000, about
## 5-10 s each here). A count, not a duration: with a duration, Go 1.26's fuzz
## coordinator can fail at the deadline with a bare "context deadline exceeded"
## and no crasher (golang/go#75804, fixed in Go 1.27).
FUZZEXECS ?= 10000
test-fuzz:
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZEXECS)x ./auth/
	go test -run '^$$' -fuzz '^FuzzPasswordVerify$$' -fuzztime $(FUZZEXECS)x ./auth/
	go test -run '^$$' -fuzz '^FuzzReadLogin$$' -fuzztime $(FUZZEXECS)x ./server/
	go test -run '^$$' -fuzz '^FuzzRunStorageCost$$' -fuzztime $(FUZZEXECS)x ./server/

test-ui: $(NPM_STAMP)
	cd frontend && npm test

test-e2e: $(BIN)
	@command -v "$${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null || \
	  { echo "Chromium not found at $${CHROMIUM_PATH:-/usr/bin/chromium}: apt-get install -y chromium (or set CHROMIUM_PATH)"; exit 1; }
	cd frontend && LABREVIEW_BIN=$(CURDIR)/$(BIN) npm run e2e

## test-mlflow: the npm MLflow client (mlflow 2.0.7) against the built binary
## (docs/mlflow.md)
MLFLOW_NODE_STAMP := clients/mlflow-node/node_modules/.package-lock.json
$(MLFLOW_NODE_STAMP): clients/mlflow-node/package.json clients/mlflow-node/package-lock.json
	cd clients/mlflow-node && npm ci --no-audit --no-fund

test-mlflow: $(BIN) $(MLFLOW_NODE_STAMP)
	cd clients/mlflow-node && LABREVIEW_BIN=$(CURDIR)/$(BIN) npm test

## lint: gofmt, go vet, staticcheck, ESLint, the TypeScript checker, and
## that the UI's API types (src/types/openapi.ts) are generated from the
## current docs/openapi.json (TestOpenAPIDocumentIsCurrent keeps that one
## equal to what the server serves)
lint: $(NPM_STAMP)
	@unformatted="$$(gofmt -l $(filter %.go,$(GO_FILES)))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet $(GO_PKGS)
	go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) $(GO_PKGS)
	cd frontend && npm run lint && npm run typecheck && npm run check:api

## bench: HTTP and start-up benchmarks (figures go to docs/benchmarks.md);
## .ci/bench-load.sh needs wrk (apt-get install -y wrk)
bench: $(BIN)
	LABREVIEW_QUERY_BENCH_BIN=$(CURDIR)/$(BIN) go test -run '^TestQueryMatrixBenchmark$$' -count 1 -timeout 60m -v ./server/
	go test -run '^$$' -bench . -benchtime 5s -count 1 -benchmem ./server/
	go test -run '^$$' -bench 'Hash|Verify' -count 1 ./auth/
	go test -run '^$$' -bench . -benchtime 3000x -count 1 ./db/sqlite/
	BIN=$(CURDIR)/$(BIN) go test -run '^$$' -bench 'SeriesReadsWorstCase|RunCreatesWAL' -benchtime 1x -count 1 ./cli/
	./.ci/bench-load.sh
	BIN=$(BIN) ./.ci/bench-refresh.sh
	BIN=$(BIN) ./.ci/bench-process.sh
	BIN=$(BIN) ./.ci/bench-ingest.sh
	BIN=$(BIN) ./.ci/bench-mlflow.sh

## bench-ingest: run creates (empty store, then at 100,000 runs) and series
## from 8 jobs, driven by wrk from another process, beside a bare Gin
## handler and the raw SQLite rate (about 7 minutes)
bench-ingest: $(BIN)
	BIN=$(BIN) ./.ci/bench-ingest.sh

## bench-ui: frame times of the runs UI in Chromium at 100,000 runs and a
## 1,000,000-point series (seeding takes a few minutes); figures go to
## docs/benchmarks.md
bench-ui: $(BIN)
	cd frontend && LABREVIEW_BIN=$(CURDIR)/$(BIN) npx playwright test --config playwright.perf.config.ts

## soak: TestSoak for SOAK (default 10m): 200 simulated browser sessions and
## 8 ingesting jobs on two instances of one hosted store (FerretDB as its own
## process), across a rolling restart of both; `make test` runs it for 75 s.
## Figures and criteria: docs/scaling.md
SOAK ?= 10m
soak:
	LABREVIEW_SOAK=$(SOAK) go test -count=1 -timeout 60m -run '^TestSoak$$' -v ./cli/clustertest/

## dev: Go server on :8080 and Vite's dev server (proxying /api to it)
dev: $(NPM_STAMP)
	@trap 'kill 0' EXIT INT TERM; \
	  go run . serve --config config.yaml & \
	  cd frontend && npm run dev

clean:
	rm -rf bin frontend/node_modules frontend/test-results frontend/playwright-report clients/mlflow-node/node_modules
	find frontend/dist -mindepth 1 -not -name .keep -delete
