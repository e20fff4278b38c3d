# SecureChat build. `make run` opens the app, `make test` runs every check.
# Whatever the build and the tests need is installed by `make deps`.

GO        ?= go
SHELL     := /bin/bash
export CGO_ENABLED := 1
# Builds and checks run on Go 1.27.3, which the go command fetches through the
# module proxy on first use: govulncheck finds standard-library flaws in the
# machines' Go 1.26.8 (crypto/x509, net/http, crypto/tls) that 1.27.3 fixes.
# The code itself needs only Go 1.26 (go.mod).
export GOTOOLCHAIN := go1.27.3
# A UTF-8 locale keeps Fyne from warning about the C locale.
export LANG := C.UTF-8

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/securechat
# The tags and flags of a release build, the same as `fyne package --release`
# uses (scripts/package.sh), so that `make build` and the packages share
# their compiled packages in the build cache.
RELEASE_TAGS := release,migrated_fynedo
# Tests and checks run Fyne headless (ci) with the fyne.Do threading model.
TEST_TAGS := ci,migrated_fynedo

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0

# Debian/Ubuntu packages the Fyne build (cgo, GL, X11, Wayland) and the tests
# (a virtual X server and tools to drive it, mingw-w64 for the Windows build,
# tor and tor-gencert for a private Tor network, tshark and ss to watch it,
# xclip to put a picture in the clipboard for the screenshots) need.
APT_PACKAGES := gcc pkg-config libgl1-mesa-dev xorg-dev libwayland-dev libxkbcommon-dev \
	xvfb xauth xdotool x11-utils imagemagick gcc-mingw-w64-x86-64 xz-utils file \
	tor tshark iproute2 xclip

# Extra steps of `make test` are added by the fragments in mk/, which are
# read before the first rule here; plain `make` still means `make all`.
.DEFAULT_GOAL := all
TEST_EXTRA :=
include $(wildcard mk/*.mk)

.PHONY: all deps build run test test-parts unit fuzz check bench clean

all: build

## deps: install the system packages the build and tests need (no-op when present)
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	$(GO) mod download

## build: the securechat binary in bin/
build: deps
	$(GO) build -trimpath -tags $(RELEASE_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) .

## run: open the app
run: build
	./$(BIN)

## test: formatting, vet, staticcheck, govulncheck, the race-enabled tests, fuzzing briefly, and the extra steps
# The parts run two at a time, the package builds (the longest part: a cold
# Linux and Windows build of Fyne) first. A cold run (empty build cache,
# clean clone) took 27 minutes (1604 s) on two cores at load 4 to 5 with
# Tor mode's tests, the file tests (the 200 MB end-to-end test: 31 s with
# -race) and 34 fuzz targets, and 36 on two cores shared with other work
# (load average up to 17), most of it compiling; with a warm build cache,
# about 9 minutes.
test: deps
	$(MAKE) --no-print-directory -j2 --output-sync=target test-parts

test-parts: $(TEST_EXTRA) check unit fuzz

# The end-to-end test drives real windows in real time: it runs last, alone,
# and after the package build whose compiled packages its build reuses.
ui-e2e: | check unit fuzz package-smoke

unit:
	$(GO) test -race -tags $(TEST_TAGS) -timeout 15m ./...

# Each fuzz target runs briefly on top of its seed corpus. Minimising a new
# input is capped: large seeds (a 1.7 KB ClientHello) otherwise spend the
# whole run minimising instead of fuzzing.
FUZZTIME ?= 5s
fuzz:
	@set -e; grep -l '^func Fuzz' $$(git ls-files '*_test.go') | xargs -n1 dirname | sort -u | while read -r dir; do \
		for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			echo "fuzz ./$$dir $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./$$dir; \
		done; \
	done

## check: gofmt, go mod tidy, go vet, staticcheck, govulncheck
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }
	$(GO) vet -tags $(TEST_TAGS) ./...
	$(GO) run $(STATICCHECK) -tags $(TEST_TAGS) ./...
	$(GO) vet -tags tor ./tor/ ./internal/tornet/ ./internal/tortest/
	$(GO) run $(STATICCHECK) -tags tor ./tor/ ./internal/tornet/ ./internal/tortest/
	./internal/tools/govulncheck.sh $(GOVULNCHECK)

# The bench's scratch folder is kept: it caches the history fills of the
# scale rows (up to a million messages), made once and reused by later runs.
BENCH_DIR ?= bin/bench-scratch

## bench: benchmarks against TLS 1.3 and raw TCP, one table, recorded in docs/BENCHMARKS.md
bench: deps
	$(GO) build -trimpath -o bin/scbench ./cmd/scbench
	./bin/scbench -dir $(BENCH_DIR) -out docs/BENCHMARKS.md

clean:
	rm -rf bin dist
