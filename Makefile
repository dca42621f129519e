# Cato — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/cato
FUZZTIME ?= 20s

.PHONY: run build test vet fuzz bench clean

## run: the gateway on its embedded default (simulated models, no server needed)
run:
	$(GO) run ./cmd/cato serve

## build: bin/cato
build:
	$(GO) build -o $(BIN) ./cmd/cato

## test: vet, then every test with the race detector, against real Redis,
## PostgreSQL and DynamoDB (dynalite) servers that scripts/testenv.sh
## installs, starts and stops
test:
	$(GO) vet ./...
	CATO_REQUIRE_SERVERS=1 scripts/testenv.sh $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

## fuzz: each fuzz target for FUZZTIME
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./... 2>/dev/null | grep -E '^(Fuzz|ok)' | awk '/^Fuzz/{f=f" "$$1} /^ok/{if(f!=""){print $$2":"f}; f=""}'); do \
		pkg=$${t%%:*}; for f in $${t#*:}; do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

## bench: the gateway overhead benchmark (see bench/RESULTS.md)
bench: build
	bench/overhead.sh

clean:
	rm -rf bin .cato
