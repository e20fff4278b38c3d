# The desktop app: its end-to-end test under Xvfb (part of `make test`) and
# the screenshots in docs/screenshots/. scripts/ui-lib.sh drives the windows.

.PHONY: ui-e2e screenshots

TEST_EXTRA += ui-e2e

## ui-e2e: two app instances under Xvfb chat through their windows
ui-e2e: build
	./scripts/ui-e2e.sh $(BIN)

## screenshots: take the app's windows under Xvfb into docs/screenshots/
screenshots: build
	./scripts/ui-screenshots.sh $(BIN) docs/screenshots
