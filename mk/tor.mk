# Tor mode (issue 13). The tests that need a real tor (build tag tor):
# package tor against Debian's tor, the private Tor network of
# internal/tornet on 127.0.0.1 (one authority and three relays, keys made
# with tor-gencert, TestingTorNetwork mode), and internal/tortest, where two
# SecureChat processes in Tor mode chat through onion services while tshark
# captures the loopback interface. About a minute on two cores (the network
# is up in about 10 s, the chat through it in about 30 s). Plain
# `go test ./...` needs no tor; make deps installs tor, tshark and ss.

.PHONY: test-tor tor-e2e

TOR_TEST = $(GO) test -tags tor -count=1 -timeout 10m ./tor/ ./internal/tornet/ ./internal/tortest/

## test-tor: the Tor mode tests with a private Tor network on 127.0.0.1 (also part of make test)
test-tor: deps
	$(TOR_TEST)

# In `make test`: after the builds, the unit tests and the fuzzing, beside
# the end-to-end UI test (both mostly wait on timers: tor's short voting
# intervals, a person's typing speed), so that its tors do not share the
# cores with compilers.
TEST_EXTRA += tor-e2e
tor-e2e: | check unit fuzz package-smoke
	$(TOR_TEST)
