# The torture test of issue 11 (internal/torture) runs once in `make test`
# (about 10 s on two cores). `make test-torture` runs it again and again with
# new seeds: TORTURE_RUNS times (default 10), TORTURE_MESSAGES each way
# (default 1000). A failure prints the seed; SECURECHAT_TORTURE_SEED=N repeats it.
TORTURE_RUNS     ?= 10
TORTURE_MESSAGES ?= 1000

.PHONY: test-torture
## test-torture: the cut-and-kill torture test, TORTURE_RUNS times with new seeds
test-torture:
	set -o pipefail; SECURECHAT_TORTURE_MESSAGES=$(TORTURE_MESSAGES) $(GO) test -race -tags $(TEST_TAGS) -count=$(TORTURE_RUNS) -timeout 60m -run '^TestTorture' -v ./internal/torture/ | grep -E '^(---|ok|FAIL|PASS)|torture_test.go'
