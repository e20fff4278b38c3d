#!/usr/bin/env bash
# Installs SecureChat's Linux package for the current user only, into
# ~/.local, without root; or removes it again.
#
#   scripts/package-user-install.sh install [ARCHIVE]   (default: dist/SecureChat.tar.xz)
#   scripts/package-user-install.sh uninstall
#
# Installing runs the `user-install` rule of the Makefile inside the archive,
# exactly what the README tells someone who downloaded it to run:
#   ~/.local/bin/securechat
#   ~/.local/share/applications/<app ID>.desktop   (Exec= the binary's full path)
#   ~/.local/share/icons/<app ID>.png
# Uninstalling removes those three files, found through the desktop entry, so
# it needs neither the archive nor a build. Neither touches the profile and
# history in ~/.config/SecureChat.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/package-lib.sh
. "$repo/scripts/package-lib.sh"
app_id=$(fyneapp_detail "$repo" ID)
name=$(fyneapp_detail "$repo" Name)
apps=$HOME/.local/share/applications
desktop=$apps/$app_id.desktop

work=
trap 'if [ -n "$work" ]; then rm -rf "$work"; fi' EXIT

refresh_menus() {
	# Most desktops watch the directory; the cache is for those that do not.
	if command -v update-desktop-database >/dev/null; then
		update-desktop-database "$apps" 2>/dev/null || true
	fi
}

do_install() {
	local archive=$1
	[ -f "$archive" ] || { echo "install-user: no $archive; run make package-linux" >&2; exit 1; }
	work=$(mktemp -d "${TMPDIR:-/tmp}/securechat-install.XXXXXX")
	tar -xJf "$archive" -C "$work"
	local makefile
	makefile=$(find "$work" -mindepth 1 -maxdepth 2 -name Makefile | head -n 1)
	[ -n "$makefile" ] || { echo "install-user: $archive holds no Makefile" >&2; exit 1; }
	# The caller's PREFIX, DESTDIR and make flags stay out of it.
	env -u PREFIX -u DESTDIR -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
		make --no-print-directory -C "$(dirname "$makefile")" user-install
	refresh_menus
	echo "Installed $(sed -n 's/^Exec=//p' "$desktop"); start it from your applications menu."
}

do_uninstall() {
	if [ ! -f "$desktop" ]; then
		echo "SecureChat is not installed in ~/.local (no $desktop)."
		return 0
	fi
	local exe icon
	exe=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop" | head -n 1)
	icon=$(sed -n 's/^Icon=//p' "$desktop" | head -n 1)
	# Remove only what user-install put under ~/.local.
	case $exe in "$HOME"/.local/bin/*) rm -f "$exe" ;; esac
	if [ -n "$icon" ]; then
		rm -f "$HOME/.local/share/icons/$icon.png"
	fi
	rm -f "$desktop"
	refresh_menus
	echo "Removed SecureChat from ~/.local. Your profile and history stay in ${XDG_CONFIG_HOME:-$HOME/.config}/SecureChat."
}

case ${1:-} in
install)
	[ $# -le 2 ] || { echo "usage: $0 install [ARCHIVE]" >&2; exit 2; }
	do_install "${2:-${DIST:-dist}/$name.tar.xz}"
	;;
uninstall) do_uninstall ;;
*)
	echo "usage: $0 install [ARCHIVE] | uninstall" >&2
	exit 2
	;;
esac
