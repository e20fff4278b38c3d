#!/usr/bin/env bash
# Builds SecureChat's release packages with the fyne tool pinned in go.mod:
#
#   scripts/package.sh linux      -> dist/SecureChat.tar.xz
#   scripts/package.sh windows    -> dist/SecureChat.exe (cross-built with mingw-w64)
#   scripts/package.sh all        -> both, built at the same time
#
# Both are release builds: -trimpath, stripped (-s -w), with `securechat
# --version` printing $VERSION.
#
# `fyne package` writes into the directory it packages: it injects
# fyne_metadata_init.go (and fyne.syso for Windows) into the main package for
# the length of the build, and rewrites FyneApp.toml with Build incremented
# when it is done. So it never runs in the source tree, where others are
# building and testing at the same time, but in a throwaway copy of it.
#
# Environment:
#   VERSION      stamped into the binary (default: git describe, else "dev");
#                a vX.Y.Z version is also the package's version, otherwise
#                FyneApp.toml's Version is
#   APP_BUILD    the package's build number (default: the number of commits)
#   DIST         where the packages go (default: dist)
#   PACKAGE_SRC  the source tree to package (default: this repository)
#   GO           the go command (default: go)
#   WINDOWS_CC   the C cross-compiler for Windows (default: x86_64-w64-mingw32-gcc)
set -euo pipefail

usage() {
	echo "usage: $0 linux|windows|all" >&2
	exit 2
}
[ $# -eq 1 ] || usage
case $1 in
linux | windows) targets=("$1") ;;
all) targets=(linux windows) ;;
*) usage ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${PACKAGE_SRC:-$repo}" && pwd)
# shellcheck source=scripts/package-lib.sh
. "$repo/scripts/package-lib.sh"
name=$(fyneapp_detail "$src" Name) # the package's file names follow it
go=${GO:-go}
dist=${DIST:-dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

in_git() { git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; }

version=${VERSION:-}
if [ -z "$version" ]; then
	version=$( (in_git && git -C "$src" describe --tags --always --dirty) 2>/dev/null || echo dev)
fi
case $version in
*[[:space:]]*)
	# GOFLAGS, which carries the version to the linker, is split at spaces.
	echo "package: VERSION must not contain spaces: '$version'" >&2
	exit 1
	;;
esac
app_build=${APP_BUILD:-}
if [ -z "$app_build" ] && in_git; then
	app_build=$(git -C "$src" rev-list --count HEAD 2>/dev/null || true)
fi

fyne_args=(--release)
if [[ $version =~ ^v?([0-9]+\.[0-9]+\.[0-9]+)$ ]]; then
	fyne_args+=(--app-version "${BASH_REMATCH[1]}")
fi
if [ -n "$app_build" ]; then
	fyne_args+=(--app-build "$app_build")
fi
if [ -n "${VERBOSE:-}" ]; then
	fyne_args+=(--verbose)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/securechat-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

# stage copies the source tree (what git tracks plus new files it does not
# ignore, or everything but build output outside git) into a fresh directory.
stage() {
	local dir=$1
	mkdir -p "$dir"
	if in_git; then
		# (Tracked files deleted in the working tree are left out.)
		(cd "$src" && git ls-files -z --cached --others --exclude-standard --deduplicate |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar --null --files-from=- -cf -) |
			tar -xf - -C "$dir"
	else
		tar -C "$src" --exclude=./.git --exclude=./dist --exclude=./bin -cf - . | tar -xf - -C "$dir"
	fi
}

# fyne's build takes -ldflags from GOFLAGS (each -ldflags= entry is one
# linker flag); --release adds -trimpath and -s -w itself.
goflags="${GOFLAGS:-} -ldflags=-X=main.version=$version"

# The fyne tool (the version go.mod pins) is built once, for this machine:
# run as `go tool fyne` with the Windows cross-compiler in CC, go would build
# the tool itself with that compiler and fail.
build_fyne() {
	(cd "$src" && "$go" build -o "$work/fyne" fyne.io/tools/cmd/fyne)
}

package_one() {
	local target=$1 dir=$work/$1 out
	local -a env=(GOFLAGS="$goflags") args=(--os "$target" "${fyne_args[@]}")
	stage "$dir"
	case $target in
	linux) out=$name.tar.xz ;;
	windows)
		out=$name.exe
		env+=(GOARCH=amd64 CC="${WINDOWS_CC:-x86_64-w64-mingw32-gcc}")
		# For Windows, fyne package builds once, adds the icon and version
		# resources, and builds again; but the first build takes -ldflags out
		# of GOFLAGS for good, so the second, the one it keeps, would lose the
		# version (fyne-io/tools#17, fyne-io/fyne#4368). An existing
		# executable skips the first build.
		local exe
		exe=$(basename "$(sed -n 's/^module[[:space:]]*//p' "$dir/go.mod")").exe
		: >"$dir/$exe"
		args+=(--exe "$exe")
		;;
	esac
	echo "package: $target $version (build ${app_build:-from FyneApp.toml}) -> $dist/$out"
	(cd "$dir" && env "${env[@]}" "$work/fyne" package "${args[@]}")
	if [ "$target" = linux ]; then
		register_scheme "$dir/$out"
	fi
	mv -f "$dir/$out" "$dist/$out"
}

# register_scheme makes the Linux desktop entry the handler of securechat:
# links (invites), which fyne package has no setting for: the entry gets
# MimeType=x-scheme-handler/securechat, and Exec= its %u from FyneApp.toml.
register_scheme() {
	local archive=$1 tree
	tree=$(mktemp -d "$work/tree.XXXXXX")
	tar -xJf "$archive" -C "$tree"
	local entry
	entry=$(find "$tree" -name '*.desktop' | head -n 1)
	[ -n "$entry" ] || { echo "package: no desktop entry in $archive" >&2; return 1; }
	grep -q '^MimeType=' "$entry" || sed -i '/^Exec=/a MimeType=x-scheme-handler/securechat;' "$entry"
	(cd "$tree" && tar -cJf "$archive.new" --owner=0 --group=0 -- *)
	mv -f "$archive.new" "$archive"
	rm -rf "$tree"
}

build_fyne
if [ ${#targets[@]} -eq 1 ]; then
	package_one "${targets[0]}"
	exit
fi
# Both at once: each build spends minutes in single-threaded C compiles
# (GLFW, GL), so two builds keep two cores busy where one does not.
declare -A pids
for t in "${targets[@]}"; do
	package_one "$t" >"$work/$t.log" 2>&1 &
	pids[$t]=$!
done
failed=0
for t in "${targets[@]}"; do
	rc=0
	wait "${pids[$t]}" || rc=$?
	sed "s/^/[$t] /" "$work/$t.log"
	if [ "$rc" -ne 0 ]; then
		echo "package: $t failed (status $rc)" >&2
		failed=1
	fi
done
exit "$failed"
