#!/usr/bin/env bash
# Runs govulncheck offline. vuln.go.dev is not reachable from the build
# machines, but the Go vulnerability database is also published as the Go
# module golang.org/x/vulndb (its data/osv folder); this script fetches that
# module through the module proxy, indexes it with the module's own indexdb
# command and points govulncheck at the result.
set -euo pipefail
GOVULNCHECK=${1:?usage: govulncheck.sh GOVULNCHECK_PKG@VERSION}
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
go=${GO:-go}

cache=$($go env GOCACHE)/securechat-vulndb-$VULNDB_VERSION
if [ ! -f "$cache/index/db.json" ]; then
	dir=$(cd /tmp && $go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
	rm -rf "$cache.tmp"
	(cd "$dir" && GOFLAGS=-mod=mod $go run ./cmd/indexdb -vulns data/osv -out "$cache.tmp")
	rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
$go run "$GOVULNCHECK" -db "file://$cache" -tags ci ./...
