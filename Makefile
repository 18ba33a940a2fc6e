# flowenroll: make demo runs the job against the built-in emulator; make test runs the tests.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/flowenroll
DEMO_OUT  ?= demo-out
IMAGE     ?= flowenroll:$(VERSION)

.PHONY: all build install cross release test demo bench soak fuzz image image-oci print-version clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/flowenroll

# Installs the binary as $(GOBIN)/flowenroll (or ~/go/bin), so that the
# README's examples work as written.
install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/flowenroll

# Builds and vets the product for every desk: linux, darwin and windows on
# amd64 and arm64 (.ci/run runs this).
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
cross:
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; echo "cross: $$os/$$arch"; \
	  GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -o /dev/null ./cmd/flowenroll; \
	  GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) vet ./cmd/flowenroll ./pkg/... ./internal/...; \
	done

# dist/: the six binaries with the version stamped, SHA256SUMS, and a
# CycloneDX SBOM of the modules built into the binary, read from its build
# information (cyclonedx-gomod, pinned; every target links the same modules).
CYCLONEDX := github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
release:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  out=dist/flowenroll-$(VERSION)-$$os-$$arch$$ext; echo "release: $$out"; \
	  GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/flowenroll; \
	done
	$(GO) run $(CYCLONEDX) bin -json -version $(VERSION) -output dist/flowenroll-$(VERSION).sbom.cdx.json dist/flowenroll-$(VERSION)-linux-amd64
	cd dist && sha256sum flowenroll-* > SHA256SUMS
	@cat dist/SHA256SUMS

# Three modules: the product (.), and the tests with heavy dependencies of
# their own, e2e/ (the real binary against the emulator) and jobs/ (the
# Kubernetes manifests and alerts), so that the product's go.mod holds only
# what the binary needs. e2e runs beside the product's tests (its cases in
# parallel, four at a time: most of their time is waiting on a paced Gong);
# its output follows theirs.
test:
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...
	cd jobs && $(GO) vet ./...
	@log=$$(mktemp); \
	{ (cd e2e && $(GO) test -race -count=1 -parallel 4 -timeout 25m ./... >$$log 2>&1); echo $$? >$$log.rc; } & \
	$(GO) test -race -count=1 -timeout 25m ./... && (cd jobs && $(GO) test -count=1 -timeout 10m ./...); rc=$$?; \
	wait; cat $$log; e2e=$$(cat $$log.rc); rm -f $$log $$log.rc; \
	[ $$rc -eq 0 ] && [ $$e2e -eq 0 ]

# The sample has bad rows and an unknown flow, so the job ends with exit 3
# ("finished, and some rows failed"): that is the expected outcome here.
demo: build
	@./$(BIN) run --sandbox --restart --input samples/prospects.csv --out $(DEMO_OUT) --log-format console; \
	code=$$?; \
	if [ $$code -eq 3 ]; then \
	  echo; echo "demo: exit 3 is expected: the sample has bad rows and an unknown flow."; \
	  echo "demo: results in $(DEMO_OUT)/ (assigned.csv, failed.csv, unprocessed.csv, summary.json, results.xlsx)"; \
	elif [ $$code -ne 0 ]; then echo "demo: unexpected exit $$code"; exit $$code; fi

# Figures against the emulator, printed with their targets (about 6 minutes;
# not part of make test). See BENCHMARKS.md.
bench:
	$(GO) run ./cmd/flowenroll-bench

# The long soak: 500 seeded scenarios of faults, kills and resumes (make test
# runs 50). See RELIABILITY.md.
soak:
	cd e2e && $(GO) test -count=1 -timeout 60m -run 'TestSoak$$' . -args -soak.runs=500 -soak.report ../soak-report.txt
	@cat soak-report.txt

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./pkg/input

# The container image, with a Docker engine (BuildKit). Where there is none
# (CI), image-oci builds the same image with buildah into an OCI layout
# (bin/image-oci), which e2e/image_test.go checks; skopeo can push it.
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

image-oci:
	VERSION=$(VERSION) scripts/image.sh

print-version:
	@echo $(VERSION)

clean:
	rm -rf bin dist $(DEMO_OUT)
