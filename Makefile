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

.PHONY: all build deps up down status test test-short vet tidy bench flake fuzz compose classroom clean

all: build

## build: static binaries in bin/
build:
	@mkdir -p $(BIN)
	$(GOFLAGS_STATIC) $(GO) build -trimpath -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

## deps: install the host packages the image build and the tests need (idempotent)
deps:
	@./scripts/host-deps.sh $(HOST_PKGS)

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

## test: every test, with the race detector, including the Docker end-to-end tests
test: deps tidy build vet
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 75m ./...

## test-short: the tests that need neither Docker nor Python
test-short:
	$(GO) test -race -short ./...

## bench: chat-bench against the reference server at 100 and 1000 clients
bench: build
	./scripts/bench.sh

## flake: every correct fixture graded 10 times at the default --parallel (-v: one PASS line a run); any failure is a flake
flake: deps build
	$(GO) test -race -v -count=10 -run '^TestGradeCorrectFixtures$$' -timeout 120m ./grading/

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
