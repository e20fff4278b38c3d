#!/usr/bin/env bash
# End-to-end test of the desktop app (issue 4, item 10): two instances of the
# real app on one machine, each with its own new profile, under Xvfb. They
# are driven only through their windows with xdotool: create the profiles,
# Host on one, Connect on the other, accept the request, type a message in
# each and press Enter. Then both apps are closed and each profile's
# history (read with `securechat history search --json`) must hold both
# messages, sent and received, delivered.
#
# usage: scripts/ui-e2e.sh [path/to/securechat]   (UI_KEEP=1 keeps the screens)

UI_BIN=$(realpath "${1:-bin/securechat}")
# shellcheck source=scripts/ui-lib.sh
source "$(dirname "$0")/ui-lib.sh"

[ -x "$UI_BIN" ] || ui_fail "no binary at $UI_BIN (make build)"
ui_start_x
port=$(ui_free_port)
nonce=$RANDOM$RANDOM
pass_a="correct horse battery staple"
pass_b="another good passphrase"
msg_a="Hello Bob, this is Alice $nonce"
msg_b="Hi Alice, Bob here $nonce"
mkdir -p "$UI_WORK/alice" "$UI_WORK/bob"

ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_launch B "$UI_WORK/bob"
xdotool windowmove "$UI_WIN_B" 860 0

ui_create_profile "$UI_WIN_A" Alice "$pass_a"
ui_create_profile "$UI_WIN_B" Bob "$pass_b"
ui_host "$UI_WIN_A" "$port"
ui_connect "$UI_WIN_B" "127.0.0.1:$port"
# A first contact is a decision on both sides.
ui_accept_request "$UI_WIN_A" Bob
ui_accept_request "$UI_WIN_B" Alice
sleep 1

ui_type "$UI_WIN_A" "$msg_a"
ui_key "$UI_WIN_A" Return
ui_type "$UI_WIN_B" "$msg_b"
ui_key "$UI_WIN_B" Return
sleep 2
ui_shot chat

ui_quit A
ui_quit B

# check_history PROFILE PASSPHRASE: both messages are in the history,
# delivered, with the right direction.
check_history() {
	local dir=$1 pass=$2 mine=$3 theirs=$4 out
	out=$(SECURECHAT_PASSPHRASE=$pass "$UI_BIN" history search "$nonce" --json --profile "$dir") ||
		ui_fail "history search in $dir failed"
	echo "$out" >"$dir.hits.json"
	grep -q "\"outgoing\":true,[^}]*\"text\":\"$mine\",\"status\":\"delivered\"" <<<"$out" ||
		ui_fail "$dir: our message \"$mine\" is not in the history as delivered: $out"
	grep -q "\"outgoing\":false,[^}]*\"text\":\"$theirs\"" <<<"$out" ||
		ui_fail "$dir: the partner's message \"$theirs\" is not in the history: $out"
}
check_history "$UI_WORK/alice" "$pass_a" "$msg_a" "$msg_b"
check_history "$UI_WORK/bob" "$pass_b" "$msg_b" "$msg_a"

# An invite, made by Alice (with the terminal: her profile is closed), used
# by a new person, Carol, who clicks the securechat: link: the app opens with
# the invite filled in after her profile is made. Neither side is asked:
# Carol proved the invite's secret, and Alice's key is the invite's.
port2=$(ui_free_port)
invite=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" invite --profile "$UI_WORK/alice" --addr 127.0.0.1 --port "$port2" --json) ||
	ui_fail "securechat invite failed"
code=$(sed -n 's/.*"code":"\([a-z0-9]*\)".*/\1/p' <<<"$invite")
[ -n "$code" ] || ui_fail "no code in $invite"
pass_c="a third good passphrase"
msg_c="Carol got the invite $nonce"
mkdir -p "$UI_WORK/carol"
ui_launch A "$UI_WORK/alice"
ui_unlock "$UI_WIN_A" "$pass_a"
ui_host "$UI_WIN_A" "$port2"
ui_launch C "$UI_WORK/carol" "securechat:$code"
xdotool windowmove "$UI_WIN_C" 860 0
ui_create_profile "$UI_WIN_C" Carol "$pass_c"
sleep 0.5
ui_shot invite-dialog
ui_key "$UI_WIN_C" Return # in the filled-in code: connect
ui_wait_title "$UI_WIN_C" "SecureChat — Alice$" 30
ui_wait_title "$UI_WIN_A" "SecureChat — Carol$" 30
sleep 1
ui_type "$UI_WIN_C" "$msg_c"
ui_key "$UI_WIN_C" Return
sleep 2
ui_shot invited-chat
ui_quit C
ui_quit A
out=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" history search "$msg_c" --json --profile "$UI_WORK/alice")
grep -q "\"text\":\"$msg_c\"" <<<"$out" || ui_fail "Alice's history lacks Carol's message: $out"
out=$(SECURECHAT_PASSPHRASE=$pass_c "$UI_BIN" contacts --json --profile "$UI_WORK/carol")
grep -q '"name":"Alice"[^}]*"invited":true' <<<"$out" || ui_fail "Carol's contact Alice is not marked invited: $out"
out=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" contacts --json --profile "$UI_WORK/alice")
grep -q '"name":"Carol"[^}]*"invited":true' <<<"$out" || ui_fail "Alice's contact Carol is not marked invited: $out"

if grep -l "Error in Fyne call thread" "$UI_WORK"/*.log; then
	ui_fail "a widget was changed off the UI goroutine"
fi
echo "ui-e2e: ok (Alice hosted on port $port, Bob connected, both messages delivered and saved; Carol connected with Alice's invite link, both invited)"
