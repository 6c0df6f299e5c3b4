# latchkey — make targets. `make help` lists them.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
export CGO_ENABLED = 0

.PHONY: help build run deps test test-race lint fmt bench fuzz clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the static binary into bin/latchkey
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/latchkey ./cmd/latchkey

run: ## run the server on 127.0.0.1:8080 with data in ./latchkey-data
	$(GO) run ./cmd/latchkey serve

deps: ## install the OS packages the tests drive (slapd, ldap-utils, Chromium) when missing
	@bash scripts/test-deps.sh

test: deps ## run every test (unit, conformance, end-to-end, LDAP against slapd, pages in Chromium)
	$(GO) test -count=1 ./...

test-race: ## run every test with the race detector (needs cgo for -race)
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

bench: ## in-process benchmarks with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## run each fuzz target for 30s
	$(GO) test -run '^$$' -fuzz FuzzCheck -fuzztime 30s ./apitoken
	$(GO) test -run '^$$' -fuzz FuzzParseExpr -fuzztime 30s ./scope
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./scope
	$(GO) test -run '^$$' -fuzz FuzzParseRoutes -fuzztime 30s ./proxy
	$(GO) test -run '^$$' -fuzz FuzzParseSignatureInput -fuzztime 30s ./httpsig
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./signer
	$(GO) test -run '^$$' -fuzz FuzzAppendClaims -fuzztime 30s ./signer
	$(GO) test -run '^$$' -fuzz FuzzAppendString -fuzztime 30s ./internal/jsonenc
	$(GO) test -run '^$$' -fuzz FuzzVerifyRequestDecode -fuzztime 30s ./httpapi
	$(GO) test -run '^$$' -fuzz FuzzTokenRequestDecode -fuzztime 30s ./httpapi
	$(GO) test -run '^$$' -fuzz FuzzNormalizeCode -fuzztime 30s ./people
	$(GO) test -run '^$$' -fuzz FuzzCanonicalUsername -fuzztime 30s ./people
	$(GO) test -run '^$$' -fuzz FuzzCheckPassword -fuzztime 30s ./people
	$(GO) test -run '^$$' -fuzz FuzzSafeReturn -fuzztime 30s ./web
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./dpop

clean: ## remove build output
	rm -rf bin

.PHONY: bench-http bench-instr bench-proxy bench-scale

bench-http: ## HTTP benchmark: latchkey vs a bare net/http baseline (wrk; BENCH_DURATION=10s)
	bash bench/http.sh

bench-instr: ## instructions per request (callgrind): verify handler vs a fixed-body handler, as a ratio
	bash bench/instr.sh

bench-proxy: ## gateway overhead: direct vs bare reverse proxy vs latchkey's gateway (wrk)
	bash bench/proxy.sh

bench-scale: ## scale benchmark: import BENCH_KEYS=1000000 keys, restart, cold/warm verify, memory
	bash bench/scale.sh

.PHONY: bench-instr-http

bench-instr-http: ## instructions per request over HTTP (callgrind): latchkey verify vs the bare net/http baseline, SPEC §6
	bash bench/instr-http.sh
