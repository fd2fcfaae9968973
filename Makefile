# StackHub's build, test and run targets. `make help` lists them.
SHELL := /bin/bash
export GOTOOLCHAIN := local
export CGO_ENABLED := 0

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/stackhub/stackhub/cmd/stackhub/cli.Version=$(VERSION)
BIN := bin/stackhub
GO_SOURCES := $(shell find . -name '*.go' -not -path './.cache/*') go.mod go.sum
INTEGRATION_TIMEOUT ?= 12m
# Fuzz budgets are execution counts (Nx), not durations: with a duration,
# Go 1.26's fuzz coordinator can fail a target with "context deadline
# exceeded" and no failing input when the time runs out while a worker is
# busy (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline.
FUZZTIME ?= 300000x
SOAK_CYCLES ?= 500

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN): $(GO_SOURCES) $(shell find bundles service/web/static -type f)
	@mkdir -p bin
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/stackhub
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/stackhub-mixin ./cmd/stackhub-mixin

.PHONY: build
build: $(BIN) ## Build the static binaries into bin/

.PHONY: run
run: build ## Start StackHub on 127.0.0.1:9000 with the embedded store and the built-in catalog
	$(BIN) serve

.PHONY: base-images
base-images: ## Make stackhub/debian-base:bookworm (debootstrap, cached), the base of exec bundles
	sh testdata/images/debian-base.sh

.PHONY: test-images
test-images: base-images ## Build the offline fixture images (FROM scratch, nothing pulled)
	bash testdata/images/build.sh

# The S3-compatible server the backup tests store to (engine/restic): Versity's
# S3 gateway over a folder, built from the Go module proxy once (minio is not
# in Debian and is not built here: see docs/backups.md).
VERSITYGW_VERSION := v1.8.0
S3_SERVER := .cache/bin/versitygw
$(S3_SERVER):
	GOBIN=$(CURDIR)/.cache/bin go install -trimpath -ldflags='-s -w' github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

.PHONY: s3-server
s3-server: $(S3_SERVER) ## Build the S3-compatible server the backup tests use (versitygw, once, into .cache/bin)

.PHONY: registry
registry: ## Run a throwaway OCI registry (docker-registry) on a free loopback port; prints its address
	sh testdata/registry/run.sh

.PHONY: deps
deps: ## Install the Debian packages the tests need when missing (docker-registry, debootstrap, curl, python3, chromium, fonts-noto-cjk; as root), else name them
	sh .ci/deps

REGISTRY ?=
PUBLISH_FLAGS ?=
PLATFORMS := linux/amd64 linux/arm64

.PHONY: publish
publish: build ## Build and publish every bundle of bundles/ and the catalog index to REGISTRY=host:port[/path]
	@test -n "$(REGISTRY)" || (echo "make publish: set REGISTRY, for example make publish REGISTRY=localhost:5000" >&2; exit 2)
	$(BIN) catalog publish bundles --registry $(REGISTRY) $(PUBLISH_FLAGS)

.PHONY: release
release: ## Static binaries for linux/amd64 and linux/arm64, the systemd unit and install script, SHA256SUMS, in dist/
	@rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
		echo "go build $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags '$(LDFLAGS)' -o dist/stackhub_$${os}_$${arch} ./cmd/stackhub; \
		GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags '$(LDFLAGS)' -o dist/stackhub-mixin_$${os}_$${arch} ./cmd/stackhub-mixin; \
	done
	cp packaging/stackhub.service packaging/install.sh dist/
	cd dist && sha256sum stackhub_* stackhub-mixin_* stackhub.service install.sh > SHA256SUMS
	@echo "dist/: $$(ls dist | tr '\n' ' ')"

IMAGE ?= stackhub/stackhub:$(VERSION)

.PHONY: image
image: build ## Build StackHub's service image (IMAGE, default stackhub/stackhub:VERSION) from the static binary; pulls nothing
	@rm -rf out/image && mkdir -p out/image
	cp packaging/Dockerfile out/image/
	cp $(BIN) out/image/stackhub_linux_$$(go env GOARCH)
	cp /etc/ssl/certs/ca-certificates.crt out/image/ 2>/dev/null || : > out/image/ca-certificates.crt
	docker build -q --build-arg TARGETARCH=$$(go env GOARCH) -t $(IMAGE) out/image

.PHONY: test-unit
test-unit: ## Run the unit tests
	go test -count=1 ./...

# The packages whose tests use the Docker Engine. They run one at a time
# (-p 1): their tests look for containers, networks and volumes left behind,
# the swarm tests (engine, mixin) switch the daemon to swarm mode and back,
# and their port ranges overlap. Every other package, engine/restic's
# integration tests included (restic with a folder, sshd and versitygw, no
# Docker), runs alongside them in a second go test, at a lower CPU priority
# so that the Docker-backed tests keep their pace.
# cmd/stackhub's TestMakeTestSplitsTheDockerPackages keeps this list in step
# with the tests.
DOCKER_PKGS := ./cmd/stackhub ./cmd/stackhub/cli ./engine ./engine/docker ./faults ./mixin ./service/web
TEST_ENV := STACKHUB_BIN=$(CURDIR)/$(BIN) STACKHUB_S3_SERVER=$(CURDIR)/$(S3_SERVER)
GO_TEST := go test -count=1 -tags=integration -timeout $(INTEGRATION_TIMEOUT) -p 1
define run-tests
	@all=$$(go list -tags=integration ./...) && serial=$$(go list -tags=integration $(DOCKER_PKGS)) || exit 1; \
	others=$$(grep -vxF -f <(echo "$$serial") <<<"$$all"); \
	echo "$(TEST_ENV) $(GO_TEST) $(DOCKER_PKGS)"; \
	echo "$(TEST_ENV) nice -n 10 $(GO_TEST) <the other packages> (alongside)"; \
	$(TEST_ENV) nice -n 10 $(GO_TEST) $$others & other=$$!; \
	$(TEST_ENV) $(GO_TEST) $(DOCKER_PKGS); docker=$$?; \
	wait $$other; other=$$?; \
	exit $$((docker || other))
endef

.PHONY: test-integration
test-integration: deps build test-images s3-server ## Run the tests on the real Docker Engine
	$(run-tests)

.PHONY: test
test: deps build test-images s3-server ## Run every test (unit, integration, end-to-end) on the real Docker Engine: the Docker-backed packages one at a time, the others alongside
	$(run-tests)

.PHONY: soak
soak: build test-images ## 500 install/uninstall cycles, 4 jobs: goroutines, open files, RSS and SQLite size every 50 (SOAK_CYCLES)
	set -o pipefail; STACKHUB_BIN=$(CURDIR)/$(BIN) STACKHUB_SOAK_CYCLES=$(SOAK_CYCLES) go test -count=1 -tags=integration -timeout 90m -run '^TestSoak$$' -v ./cmd/stackhub/ 2>&1 | grep -v 'level='

.PHONY: smoke
smoke: build ## Install every built-in app for real and uninstall it (pulls images; SMOKE_APPS="a b" picks some)
	STACKHUB_BIN=$(CURDIR)/$(BIN) .ci/smoke

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (300000x: that many inputs, about a minute or less each)
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./engine/manifest/
	go test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./engine/template/
	go test -run '^$$' -fuzz '^FuzzPRDRequest$$' -fuzztime $(FUZZTIME) ./service/

.PHONY: bench
bench: build test-images ## Measure install, API, scale and footprint against references (table + out/bench/*.json)
	go run ./bench -bin $(CURDIR)/$(BIN) -out $(CURDIR)/out/bench $(BENCH_FLAGS)

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## golangci-lint (pinned in go.mod; .golangci.yml: layering, staticcheck, errorlint, ...) and go vet
	go tool golangci-lint run --allow-parallel-runners ./...
	go vet ./...

.PHONY: check
check: lint test ## Everything CI runs

.PHONY: clean
clean: ## Remove build outputs
	rm -rf bin out dist
