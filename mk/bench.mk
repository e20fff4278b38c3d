# The memory row of `make bench` (issue 10, item 7): the real app, unlocked
# and idle in a window under Xvfb, against a minimal Fyne app (one window,
# one list) in the same run. scripts/bench-memory.sh drives both; scbench
# runs it and writes its rows. Not part of `make test`.

.PHONY: fyneminimal

## fyneminimal: bin/fyneminimal, the minimal Fyne app, built like the app
fyneminimal: deps
	$(GO) build -trimpath -tags $(RELEASE_TAGS) -ldflags '$(LDFLAGS)' -o bin/fyneminimal ./cmd/fyneminimal

bench: build fyneminimal
