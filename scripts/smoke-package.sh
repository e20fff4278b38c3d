#!/usr/bin/env bash
# Smoke-tests the packages that scripts/package.sh made:
#
#   scripts/smoke-package.sh linux     the Linux archive, as a person would use it
#   scripts/smoke-package.sh windows   the Windows executable, by inspection
#   scripts/smoke-package.sh all       both
#
# linux: unpacks dist/SecureChat.tar.xz, installs it into a temporary HOME with
# scripts/package-user-install.sh (the archive's own `make user-install`),
# checks the desktop entry, the icon and `securechat --version`, then starts
# the desktop entry's Exec= command under a private Xvfb with that fresh
# profile and waits for a visible window named SecureChat that carries an
# icon. Last, it uninstalls and checks that nothing is left.
#
# windows: `file` must call dist/SecureChat.exe a PE32+ GUI executable for
# x86-64, and its resource directory (read with x86_64-w64-mingw32-objdump,
# from binutils-mingw-w64-x86-64, which gcc-mingw-w64-x86-64 depends on) must
# hold an icon, an icon group, version information and a manifest.
#
# Environment:
#   DIST             where the packages are (default: dist)
#   EXPECT_VERSION   the version `securechat --version` must print (optional)
#   SMOKE_TIMEOUT    seconds to wait for the window (default: 60)
#   SMOKE_SCREENSHOT if set, a PNG of the virtual screen with the window open
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/package-lib.sh
. "$repo/scripts/package-lib.sh"
name=$(fyneapp_detail "$repo" Name)
app_id=$(fyneapp_detail "$repo" ID)
dist=${DIST:-dist}
timeout=${SMOKE_TIMEOUT:-60}

fail() {
	echo "package-smoke: FAIL: $*" >&2
	exit 1
}
pass() { echo "package-smoke: ok: $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/securechat-smoke.XXXXXX")
xvfb_pid=
app_pid=
cleanup() {
	# Only the processes this script started.
	if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
	if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# start_xvfb starts a private X server on a free display and sets DISPLAY.
start_xvfb() {
	local fifo=$work/displayfd
	mkfifo "$fifo"
	Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$fifo" >"$work/xvfb.log" 2>&1 &
	xvfb_pid=$!
	local display
	# Xvfb writes its display number once it accepts connections.
	if ! read -r -t 30 display <"$fifo"; then
		fail "Xvfb did not start: $(tail -n 5 "$work/xvfb.log")"
	fi
	export DISPLAY=:$display
}

smoke_linux() {
	local archive=$dist/$name.tar.xz home=$work/home
	[ -f "$archive" ] || fail "no $archive: run make package first"
	# A new user's home: the usual directories, no SecureChat profile.
	mkdir -p "$home/.config" "$home/.cache" "$home/.local/share"

	# Install as a person would, into a HOME of our own.
	HOME=$home XDG_CONFIG_HOME= XDG_DATA_HOME= \
		"$repo/scripts/package-user-install.sh" install "$archive" >"$work/install.log" 2>&1 ||
		fail "installing $archive failed: $(cat "$work/install.log")"
	local desktop=$home/.local/share/applications/$app_id.desktop
	[ -f "$desktop" ] || fail "the install made no desktop entry $desktop"
	grep -qx "Name=$name" "$desktop" || fail "the desktop entry does not say Name=$name"
	grep -qx 'Type=Application' "$desktop" || fail "the desktop entry is not Type=Application"
	grep -q '^MimeType=.*x-scheme-handler/securechat;' "$desktop" || fail "the desktop entry does not open securechat: invite links"
	grep -q '^Exec=.* %u$' "$desktop" || fail "the desktop entry's Exec= does not take the link (%u)"
	local exec icon
	exec=$(sed -n 's/^Exec=//p' "$desktop")
	icon=$(sed -n 's/^Icon=//p' "$desktop")
	[ -x "${exec%% *}" ] || fail "the desktop entry's Exec=$exec is not an executable"
	[[ ${exec%% *} == "$home"/.local/bin/* ]] || fail "Exec=$exec is not in ~/.local/bin"
	file -b "$home/.local/share/icons/$icon.png" | grep -q '^PNG image data, 512 x 512' ||
		fail "no 512 px icon ~/.local/share/icons/$icon.png for Icon=$icon"
	pass "installed into ~/.local: $(basename "$desktop"), Exec=${exec/#$home/\~}, 512 px icon"

	local bin=${exec%% *} desc
	desc=$(file -b "$bin")
	[[ $desc == ELF\ 64-bit*x86-64* && $desc == *", stripped"* ]] ||
		fail "the binary is not a stripped x86-64 ELF: $desc"
	local version
	version=$("$bin" --version) || fail "securechat --version failed"
	if [ -n "${EXPECT_VERSION:-}" ]; then
		[ "$version" = "securechat $EXPECT_VERSION" ] ||
			fail "securechat --version printed '$version', want 'securechat $EXPECT_VERSION'"
	fi
	pass "stripped binary, --version: $version"

	# Start what a double-click starts, with a fresh profile and no session
	# other than the private X server.
	start_xvfb
	# Exec= is split into words, without its field codes (%F, %u...), as a
	# launcher does.
	local -a command
	read -r -a command <<<"${exec//%[a-zA-Z]/}"
	env -u WAYLAND_DISPLAY -u DBUS_SESSION_BUS_ADDRESS HOME="$home" \
		XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
		XDG_CACHE_HOME="$home/.cache" XDG_RUNTIME_DIR="$work" \
		"${command[@]}" >"$work/app.log" 2>&1 &
	app_pid=$!
	local wid="" deadline=$((SECONDS + timeout))
	while :; do
		wid=$(xdotool search --onlyvisible --name "$name" 2>/dev/null | head -n 1) || true
		[ -n "$wid" ] && break
		if ! kill -0 "$app_pid" 2>/dev/null; then
			local rc=0
			wait "$app_pid" || rc=$?
			app_pid=
			fail "$name exited (status $rc) without opening a window; its output:
$(tail -n 20 "$work/app.log")"
		fi
		if ((SECONDS >= deadline)); then
			fail "no visible window named $name within ${timeout}s; its output:
$(tail -n 20 "$work/app.log")"
		fi
		sleep 0.5
	done
	local title
	title=$(xdotool getwindowname "$wid")
	# The icon Fyne sets on the window: xprop shows _NET_WM_ICON as
	# "Icon (W x H):", or as numbers starting with W, H.
	local wm_icon
	wm_icon=$(xprop -notype -len 8 -id "$wid" _NET_WM_ICON)
	[[ $wm_icon =~ Icon\ \(([1-9][0-9]*)\ x\ ([1-9][0-9]*)\) || $wm_icon =~ \ =\ ([1-9][0-9]*),\ ([1-9][0-9]*) ]] ||
		fail "the window '$title' has no icon: $wm_icon"
	local icon_size=${BASH_REMATCH[1]}x${BASH_REMATCH[2]}
	# Docks match the window to its desktop entry by WM_CLASS.
	local wmclass
	wmclass=$(sed -n 's/^StartupWMClass=//p' "$desktop")
	if [ -n "$wmclass" ]; then
		xprop -id "$wid" WM_CLASS | grep -q "\"$wmclass\"" ||
			fail "the window's $(xprop -id "$wid" WM_CLASS) does not match the desktop entry's StartupWMClass=$wmclass"
	fi
	if [ -n "${SMOKE_SCREENSHOT:-}" ]; then
		sleep 2 # let it draw
		import -window root "$SMOKE_SCREENSHOT"
	fi
	sleep 1
	kill -0 "$app_pid" 2>/dev/null || fail "$name exited right after opening its window: $(tail -n 20 "$work/app.log")"
	kill "$app_pid"
	wait "$app_pid" 2>/dev/null || true
	app_pid=
	pass "the installed app opened a window '$title' with a $icon_size icon under Xvfb ($((SECONDS + timeout - deadline))s)"

	HOME=$home XDG_CONFIG_HOME= "$repo/scripts/package-user-install.sh" uninstall >"$work/uninstall.log" 2>&1 ||
		fail "uninstalling failed: $(cat "$work/uninstall.log")"
	local left
	left=$(find "$home/.local" -type f ! -name mimeinfo.cache)
	[ -z "$left" ] || fail "uninstall left files behind: $left"
	pass "uninstall removed the binary, desktop entry and icon"
}

smoke_windows() {
	local exe=$dist/$name.exe desc
	[ -f "$exe" ] || fail "no $exe: run make package first"
	desc=$(file -b "$exe")
	[[ $desc == "PE32+ executable (GUI) x86-64"* ]] ||
		fail "$exe is not a PE32+ GUI executable for x86-64: $desc"
	pass "$(basename "$exe"): $desc"

	# objdump -p prints the resource directory as a tree; its top level
	# (three spaces in) holds one entry per resource type ID.
	local dump types
	dump=$(x86_64-w64-mingw32-objdump -p "$exe") || fail "objdump cannot read $exe"
	types=$(sed -n '/^The .rsrc Resource Directory section:/,/^ *Resources start/s/^[0-9a-f]*   Entry: ID: 0x\([0-9a-f]*\),.*/\1/p' <<<"$dump" |
		while read -r id; do
			case $((16#$id)) in
			3) echo ICON ;; 14) echo GROUP_ICON ;; 16) echo VERSION ;; 24) echo MANIFEST ;; *) echo "type-$((16#$id))" ;;
			esac
		done | tr '\n' ' ')
	local want
	for want in ICON GROUP_ICON VERSION MANIFEST; do
		[[ " $types" == *" $want "* ]] || fail "$exe has no $want resource (it has: ${types:-none})"
	done
	# The version resource's strings are UTF-16.
	local info
	info=$(x86_64-w64-mingw32-strings -e l "$exe" | grep -A1 -x -e ProductName -e ProductVersion | grep -v -e '^--$' | paste -sd ' ')
	[[ $info == *"ProductName $name"* && $info == *"ProductVersion "[0-9]* ]] ||
		fail "$exe's version resource lacks ProductName $name or a ProductVersion: $info"
	# `securechat --version` cannot run here; the stamped string must be in it.
	if [ -n "${EXPECT_VERSION:-}" ] && [ "$EXPECT_VERSION" != dev ]; then
		grep -aqF -- "$EXPECT_VERSION" "$exe" || fail "$exe does not carry the version $EXPECT_VERSION"
	fi
	pass "$(basename "$exe") resources: $types; $info"
}

case ${1:-} in
linux) smoke_linux ;;
windows) smoke_windows ;;
all)
	smoke_windows
	smoke_linux
	;;
*)
	echo "usage: $0 linux|windows|all" >&2
	exit 2
	;;
esac
