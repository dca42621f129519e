# Cato — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/cato
FUZZTIME ?= 20s
# TESTFUZZTIME is how long `make test` runs each fuzz target.
TESTFUZZTIME ?= 2s

.PHONY: run build test vet fuzz bench pgo clean

## run: the gateway on its embedded default (simulated models, no server needed)
run:
	$(GO) run ./cmd/cato serve

## build: bin/cato
build:
	$(GO) build -o $(BIN) ./cmd/cato

## test: vet, then every test with the race detector, against real Redis,
## PostgreSQL and DynamoDB (dynalite) servers that scripts/testenv.sh
## installs, starts and stops; then each fuzz target for TESTFUZZTIME (a
## crasher fails the target)
test:
	$(GO) vet ./...
	CATO_REQUIRE_SERVERS=1 scripts/testenv.sh $(GO) test -race -count=1 -timeout 20m ./...
	GO=$(GO) FUZZTIME=$(TESTFUZZTIME) scripts/fuzz.sh

vet:
	$(GO) vet ./...

## fuzz: each fuzz target for FUZZTIME (FUZZPARALLEL workers each, default 1)
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## bench: the gateway overhead benchmark (see bench/RESULTS.md)
bench: build
	bench/overhead.sh

## pgo: cmd/cato/default.pgo, the CPU profile of proxied requests (streamed
## and not) that `go build` then uses for profile-guided optimisation
PGOTIME ?= 5s
pgo:
	$(GO) test -run '^$$' -bench '^BenchmarkProxy(Stream)?$$/through_cato' -benchtime $(PGOTIME) \
		-cpuprofile cmd/cato/default.pgo -o bin/app.test ./internal/app/
	rm -f bin/app.test

clean:
	rm -rf bin .cato
