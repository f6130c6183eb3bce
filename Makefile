# LedgerScope build. `make run` starts the demo; `make test` runs every test.
GO        ?= go
BIN       := bin/ledgerscope
PKGS      := ./...
TEST_TIMEOUT ?= 15m

.PHONY: all build run test vet fmt-check bench soak fuzz clean browser

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/ledgerscope

run: build
	./$(BIN) devnet --home var/devnet --sync --load-rate 500

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The browser tests drive Debian's Chromium; installed once, as root or through sudo.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q chromium fonts-noto-cjk >/dev/null || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }; }

# Screenshots of the browser tests are kept in var/screenshots.
test: fmt-check vet browser
	LEDGERSCOPE_SCREENSHOTS=$(CURDIR)/var/screenshots \
		$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

bench: build
	./$(BIN) bench
	$(GO) test -run '^$$' -bench BenchmarkCatchUp -benchtime 3x ./ledgersync

# The demo stack at 2,000 tx/s for 30 minutes, then a portal following it for 30 more.
soak: build
	./$(BIN) bench --only soak

fuzz:
	$(GO) test ./ledger -run '^$$' -fuzz FuzzDecodeTx -fuzztime 60s
	$(GO) test ./ledger -run '^$$' -fuzz FuzzVerifyEnvelope -fuzztime 60s
	$(GO) test ./ledger -run '^$$' -fuzz FuzzDecodeEvents -fuzztime 60s
	$(GO) test ./ledger -run '^$$' -fuzz FuzzParseAmount -fuzztime 60s
	$(GO) test ./ledger -run '^$$' -fuzz FuzzFormatAmount -fuzztime 60s
	$(GO) test ./compliance -run '^$$' -fuzz FuzzParseWatchlist -fuzztime 60s
	$(GO) test ./compliance -run '^$$' -fuzz FuzzSetParam -fuzztime 60s

clean:
	rm -rf bin var
