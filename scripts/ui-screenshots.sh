#!/usr/bin/env bash
# Takes the screenshots in docs/screenshots/ from the real app: two
# instances under Xvfb, with fresh profiles, driven with xdotool through a
# first contact on both sides, a short chat, the verification dialog, the
# network view, the history browser, a lookalike name, a changed key, the
# invite dialogs and the unlock screen.
#
# usage: scripts/ui-screenshots.sh [path/to/securechat] [output dir]

UI_BIN=$(realpath "${1:-bin/securechat}")
out=$(realpath -m "${2:-docs/screenshots}")
UI_SCREEN=1800x800x24
# shellcheck source=scripts/ui-lib.sh
source "$(dirname "$0")/ui-lib.sh"

[ -x "$UI_BIN" ] || ui_fail "no binary at $UI_BIN (make build)"
mkdir -p "$out"
ui_start_x
port=$(ui_free_port)
pass_a="correct horse battery staple"
pass_b="another good passphrase"
mkdir -p "$UI_WORK/alice" "$UI_WORK/bob"

# click WIN X Y: clicks at a point of the window (820 x 640 by default).
click() {
	ui_focus "$1"
	xdotool mousemove --window "$1" "$2" "$3" click 1
	sleep 0.4
	xdotool mousemove 1790 790 # away, so that no hover shows
	sleep 0.2
}

shot() {
	sleep 0.4
	ui_window_shot "$1" "$out/$2.png"
	echo "took $2.png"
}

ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_launch B "$UI_WORK/bob"
xdotool windowmove "$UI_WIN_B" 900 0

ui_wait_title "$UI_WIN_A" '^SecureChat$'
ui_type "$UI_WIN_A" Alice
ui_key "$UI_WIN_A" Tab
ui_type "$UI_WIN_A" "$pass_a"
ui_key "$UI_WIN_A" Tab
ui_type "$UI_WIN_A" "$pass_a"
shot "$UI_WIN_A" create-profile
ui_key "$UI_WIN_A" Return
ui_wait_title "$UI_WIN_A" 'Host or Connect' 90
ui_create_profile "$UI_WIN_B" Bob "$pass_b"
shot "$UI_WIN_A" host-or-connect

ui_host "$UI_WIN_A" "$port"
shot "$UI_WIN_A" waiting
ui_connect "$UI_WIN_B" "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "SecureChat — Bob$" 30
ui_wait_title "$UI_WIN_B" "SecureChat — Alice$" 30
shot "$UI_WIN_A" partner-request
shot "$UI_WIN_B" first-contact
ui_accept_request "$UI_WIN_A" Bob
ui_accept_request "$UI_WIN_B" Alice
sleep 1

say() {
	ui_type "$1" "$2"
	ui_key "$1" Return
	sleep 0.8
}
say "$UI_WIN_B" "Hi Alice! Did the parcel arrive?"
say "$UI_WIN_A" "It did, this morning. Thank you!"
ui_type "$UI_WIN_A" "Two things:"
ui_key "$UI_WIN_A" shift+Return
ui_type "$UI_WIN_A" "the blue one is perfect, and the card made me laugh."
ui_key "$UI_WIN_A" Return
sleep 0.8
say "$UI_WIN_B" "Glad to hear it. Shall we compare safety numbers on Friday, when we meet, so that we know nobody sits between our two computers?"
say "$UI_WIN_A" "Yes, see you on Friday."
sleep 1
shot "$UI_WIN_A" chat
shot "$UI_WIN_B" chat-partner

click "$UI_WIN_A" 297 21 # What the network sees
shot "$UI_WIN_A" network-view
click "$UI_WIN_A" 297 21

click "$UI_WIN_A" 775 62 # Verify
shot "$UI_WIN_A" verify
ui_key "$UI_WIN_A" Tab Tab space # They match
sleep 0.5

click "$UI_WIN_A" 520 21 # Past chats
hist=""
for _ in $(seq 50); do
	hist=$(xdotool search --onlyvisible --name 'Past chats' 2>/dev/null | head -1 || true)
	[ -n "$hist" ] && break
	sleep 0.1
done
[ -n "$hist" ] || ui_fail "the history browser did not open"
xdotool windowmove "$hist" 0 0
sleep 0.5
click "$hist" 150 20 # search field
ui_type "$hist" "parcel"
ui_key "$hist" Return
sleep 0.5
click "$hist" 150 80 # the first hit
sleep 0.5
shot "$hist" history
xdotool windowmove "$hist" 900 0

# Bob leaves; someone else calling himself "bob", with another key,
# connects: a lookalike of Alice's contact Bob.
ui_quit B
sleep 1
mkdir -p "$UI_WORK/mallory"
ui_launch M "$UI_WORK/mallory"
xdotool windowmove "$UI_WIN_M" 900 0
ui_create_profile "$UI_WIN_M" bob "yet another passphrase"
ui_connect "$UI_WIN_M" "127.0.0.1:$port"
sleep 3
shot "$UI_WIN_A" lookalike
ui_quit M
ui_quit A

# Bob hosts and Alice connects to him, so that she knows his address; then
# someone else answers there: the changed-key warning when she reconnects.
port2=$(ui_free_port)
ui_launch B "$UI_WORK/bob"
xdotool windowmove "$UI_WIN_B" 900 0
ui_unlock "$UI_WIN_B" "$pass_b"
ui_host "$UI_WIN_B" "$port2"
ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_unlock "$UI_WIN_A" "$pass_a"
ui_connect "$UI_WIN_A" "127.0.0.1:$port2"
ui_wait_title "$UI_WIN_A" "SecureChat — Bob$" 30
sleep 1
ui_quit B
sleep 1
ui_launch M "$UI_WORK/mallory"
xdotool windowmove "$UI_WIN_M" 900 0
ui_unlock "$UI_WIN_M" "yet another passphrase"
ui_host "$UI_WIN_M" "$port2"
click "$UI_WIN_A" 765 21 # Reconnect
sleep 3
shot "$UI_WIN_A" changed-key
ui_quit M
ui_quit A

# The invite dialogs: Alice makes one; Carol opens the app with the link.
ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_wait_title "$UI_WIN_A" '^SecureChat$'
ui_type "$UI_WIN_A" "not my passphrase"
ui_key "$UI_WIN_A" Return
sleep 1.5
shot "$UI_WIN_A" unlock-wrong-passphrase
ui_key "$UI_WIN_A" ctrl+a
ui_type "$UI_WIN_A" "$pass_a"
ui_key "$UI_WIN_A" Return
ui_wait_title "$UI_WIN_A" 'Host or Connect' 30
sleep 0.5
click "$UI_WIN_A" 183 447 # Invite someone…
sleep 1
shot "$UI_WIN_A" invite-options
ui_key "$UI_WIN_A" Tab Tab Tab Tab space # over the two choices and Cancel to Make invite
sleep 1.5
shot "$UI_WIN_A" invite
ui_quit A
code=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" invite --profile "$UI_WORK/alice" --addr 192.168.1.20 --json | sed -n 's/.*"code":"\([a-z0-9]*\)".*/\1/p')
mkdir -p "$UI_WORK/carol"
ui_launch C "$UI_WORK/carol" "securechat:$code"
xdotool windowmove "$UI_WIN_C" 0 0
ui_create_profile "$UI_WIN_C" Carol "a third good passphrase"
sleep 1
shot "$UI_WIN_C" connect-invite
ui_quit C
if grep -l "Error in Fyne call thread" "$UI_WORK"/*.log; then
	ui_fail "a widget was changed off the UI goroutine"
fi
echo "screenshots: ok, in $out"
