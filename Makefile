# Lab 3 toolkit. The README's two commands are `make up` and `make test`;
# both do all their own set-up.

GO        ?= go
BIN       := bin
CMDS      := lab chat-server chat-client chat-bench dnscheck
GOFLAGS_STATIC := CGO_ENABLED=0
# testcontainers-go (the lab module's end-to-end tests) starts its reaper
# from an image on Docker Hub; there is no registry here, so it is off and
# every test removes what it made itself.
TEST_ENV  := TESTCONTAINERS_RYUK_DISABLED=true
# Host packages the tests and the image build need (Debian names).
HOST_PKGS := debootstrap tshark dnsutils bind9-utils python3 openssh-client tmux
# What only the tests need: a headless browser for the class report's pages.
TEST_PKGS := chromium
# The tests take the binaries this Makefile built (internal/tier) and build
# none of their own. A race binary sleeps 1 s at exit by default.
TEST_ENV  += LAB3_BIN=$(abspath $(BIN)) GORACE=atexit_sleep_ms=0

# The test tiers (README, "Testing"; internal/tier):
#   unit   every test that needs no Docker, with the race detector;
#   smoke  the real-Docker tests below, without it;
#   e2e    every test, with the race detector.
# make test runs unit then smoke; make e2e runs e2e. The smoke set: one lab
# lifecycle, DNS from a client, deploy and chat across hosts, the
# testcontainers module, capture, the portable binary, and in one grading
# batch the reference and the fairness canaries (the correct fixtures
# graded in full, each broken fixture on its own milestone). internal/tier's test checks
# that every name here is a test of SMOKE_PKGS.
SMOKE_TESTS := TestE2ELifecycle TestE2EDNSFromAClient TestE2EDeployAndChatAcrossHosts \
	TestRunBringsUpTheLab TestCaptureRealLab TestPortableLab \
	TestGradeCanaries
SMOKE_PKGS  := ./lab/ ./labcontainers/ ./traffic/ ./cmd/lab/ ./grading/
empty :=
space := $(empty) $(empty)
SMOKE_RUN   := ^($(subst $(space),|,$(strip $(SMOKE_TESTS))))$$

.PHONY: all build deps test-deps up down status test test-unit test-smoke e2e test-short vet tidy bench flake fuzz compose classroom clean

all: build

## build: static binaries in bin/
build:
	@mkdir -p $(BIN)
	$(GOFLAGS_STATIC) $(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

## deps: install the host packages the image build and the lab need, and give lab hosts socket tables of their own (idempotent)
deps:
	@./scripts/host-deps.sh $(HOST_PKGS)
	@./scripts/host-tune.sh

## test-deps: install what only the tests need besides (idempotent)
test-deps: deps
	@./scripts/host-deps.sh $(TEST_PKGS)

## up: build everything and bring the default lab up (team30.com)
up: deps build
	$(BIN)/lab up

## down: remove the default lab
down: build
	$(BIN)/lab down

status: build
	$(BIN)/lab status

vet:
	$(GO) vet ./...

## tidy: fail when go.mod or go.sum is not what `go mod tidy` makes them
tidy:
	@out=$$($(GO) mod tidy -diff 2>&1) && exit 0; \
	printf '%s\n' "$$out" >&2; \
	if printf '%s\n' "$$out" | grep -q '^diff '; then \
		echo "tidy: go.mod or go.sum is not tidy: run 'go mod tidy' and commit the result" >&2; \
	else \
		echo "tidy: go mod tidy -diff failed (above); it needs the module cache or the Go proxy" >&2; \
	fi; \
	exit 1

## test: the README's test command and CI's: the unit tier, then the smoke tier (about 12 minutes on a quiet 2-core machine)
test: test-deps tidy build vet
	@$(MAKE) --no-print-directory test-unit && $(MAKE) --no-print-directory test-smoke

## test-unit: every test that needs no Docker, with the race detector
test-unit: build
	$(TEST_ENV) LAB3_TIER=unit $(GO) test -race -count=1 -timeout 20m ./...

## test-smoke: the smoke set of real-Docker tests (SMOKE_TESTS), without the race detector
test-smoke: deps build
	$(TEST_ENV) LAB3_TIER=smoke $(GO) test -count=1 -timeout 40m -run '$(SMOKE_RUN)' $(SMOKE_PKGS)

## e2e: every test, the whole end-to-end matrix included, with the race detector; run it before you stop when you changed grading, scenarios, runtime or testdata
e2e: test-deps tidy build vet
	$(TEST_ENV) LAB3_TIER=e2e $(GO) test -race -count=1 -timeout 180m ./...

## test-short: the tests that need neither Docker nor Python
test-short: build
	$(TEST_ENV) $(GO) test -race -short ./...

## bench: chat-bench against the reference server at 100 and 1000 clients
bench: build
	./scripts/bench.sh

## flake: every correct fixture graded 10 times at the default --parallel, any failed check a flake; NOISY=1: beside a CPU hog on one core (10 runs), then on every core at --parallel 4 (3 runs, ERROR allowed, FAIL not)
flake: deps build
	$(TEST_ENV) GO=$(GO) NOISY=$(NOISY) ./scripts/flake.sh

## fuzz: each fuzz target for a short while
fuzz:
	./scripts/fuzz.sh

## classroom: regenerate the GitHub Classroom workflow from the scenarios' points
classroom:
	$(GO) test ./integrations/github -run '^TestClassroomWorkflow$$' -update

## compose: regenerate compose.yaml and the default zone files from the topology
compose: build
	$(BIN)/lab compose --write

clean:
	rm -rf $(BIN)
