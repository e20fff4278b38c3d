#!/usr/bin/env bash
# End-to-end test of the desktop app (issues 4 and 10): real instances of
# the app on one machine under Xvfb, each with its own new profile, driven
# through their windows with xdotool (the keyboard, and a click where a
# widget takes no focus), and terminal peers (`securechat connect`) fed
# from a fifo:
#
#   - Alice (app) listens; Carol (app) reaches her with a clicked invite
#     link, Bob (app) and Dave (terminal) by address; Alice accepts Bob and
#     Dave under Requests, and the dialed side (Bob) decides at once.
#   - Bob, Carol and Dave write to Alice at the same time; she answers each
#     in his or her thread.
#   - Eve, a key never seen, asks to chat while Alice is typing to Dave: the
#     request waits under Requests, Dave's thread stays shown and what Alice
#     typed is sent to Dave whole. Alice then accepts Eve.
#   - Bob quits and comes back, and connects to Alice again from his
#     thread: his new message lands in the thread of his first (a
#     screenshot of Alice's window shows both).
#
#   - Dave sends Alice a file from the terminal (/send); she accepts it in
#     his thread, and it arrives whole (files save gives the same bytes).
#
# Then every app is closed and each profile's history (`securechat history
# search --json`, `history show --json`, `contacts --json`) must hold each
# message once, in the conversation of the right key (fingerprint), sent
# ones delivered.
#
# usage: scripts/ui-e2e.sh [path/to/securechat]
#   UI_KEEP=1 keeps the work folder (logs, screens);
#   UI_SHOTS=DIR copies the screens taken into DIR.

UI_BIN=$(realpath "${1:-bin/securechat}")
# shellcheck source=scripts/ui-lib.sh
source "$(dirname "$0")/ui-lib.sh"

started=$SECONDS
[ -x "$UI_BIN" ] || ui_fail "no binary at $UI_BIN (make build)"
ui_start_x
port=$(ui_free_port)
nonce=$RANDOM$RANDOM
pass_a="correct horse battery staple"
pass_b="another good passphrase"
pass_c="a third good passphrase"
pass_t="the terminals' passphrase"
mkdir -p "$UI_WORK/alice" "$UI_WORK/bob" "$UI_WORK/carol"

step() { echo "ui-e2e: $* ($((SECONDS - started)) s)"; }

shot() {
	ui_shot "$1"
	if [ -n "${UI_SHOTS:-}" ]; then
		mkdir -p "$UI_SHOTS"
		cp "$UI_WORK/$1.png" "$UI_SHOTS/"
	fi
}

# Terminal peers: `securechat connect --json`, their input a fifo held open
# here, their events in $UI_WORK/NAME.json.
# term_start NAME ARG...: starts NAME's terminal peer with a new profile.
term_start() {
	local name=$1 fd
	shift
	mkdir -p "$UI_WORK/$name"
	mkfifo "$UI_WORK/$name.in"
	(
		ui_close_fds
		SECURECHAT_PASSPHRASE=$pass_t exec "$UI_BIN" connect "$@" --name "$name" --profile "$UI_WORK/$name" --json \
			<"$UI_WORK/$name.in" >"$UI_WORK/$name.json" 2>"$UI_WORK/$name.log"
	) &
	UI_PIDS+=($!)
	printf -v "TERM_PID_$name" '%s' "$!"
	exec {fd}>"$UI_WORK/$name.in"
	UI_FDS+=("$fd")
	printf -v "TERM_FD_$name" '%s' "$fd"
}

# term_say NAME TEXT: NAME types a line.
term_say() {
	local var="TERM_FD_$1"
	echo "$2" >&"${!var}"
}

# term_wait NAME REGEX [SECONDS]: waits for an event of NAME's matching REGEX.
term_wait() {
	local name=$1 re=$2 secs=${3:-30} i
	for i in $(seq $((secs * 10))); do
		grep -q -- "$re" "$UI_WORK/$name.json" && return 0
		sleep 0.1
	done
	ui_fail "$name (terminal): no event /$re/ after $secs s: $(cat "$UI_WORK/$name.json" "$UI_WORK/$name.log")"
}

# term_quit NAME: ends NAME's input (a goodbye) and waits for it to exit.
term_quit() {
	local fd="TERM_FD_$1" pid="TERM_PID_$1" i
	eval "exec {$fd}>&-"
	for i in $(seq 100); do
		kill -0 "${!pid}" 2>/dev/null || return 0
		sleep 0.1
	done
	ui_fail "$1 (terminal) did not exit at the end of its input"
}

# say WIN TEXT: types a message into the thread shown and sends it.
say() {
	ui_type "$1" "$2"
	ui_key "$1" Return
}

# --- Alice makes her profile and an invite (with the terminal: the
# profile is closed), then listens.
ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_create_profile "$UI_WIN_A" Alice "$pass_a"
ui_quit A
invite=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" invite --profile "$UI_WORK/alice" --addr 127.0.0.1 --port "$port" --json) ||
	ui_fail "securechat invite failed"
code=$(sed -n 's/.*"code":"\([a-z0-9]*\)".*/\1/p' <<<"$invite")
[ -n "$code" ] || ui_fail "no code in $invite"
ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_unlock "$UI_WIN_A" "$pass_a" 'Host or Connect' # no contacts yet: New chat opens
ui_listen "$UI_WIN_A" "$port"
step "Alice listens on port $port"

# --- Carol clicks Alice's invite link: the app opens with the invite
# filled in after her profile is made. Neither side is asked: Carol proved
# the invite's secret, and Alice's key is the invite's.
ui_launch C "$UI_WORK/carol" "securechat:$code"
xdotool windowmove "$UI_WIN_C" 860 0
ui_create_profile "$UI_WIN_C" Carol "$pass_c"
sleep 0.5
shot invite-dialog
ui_key "$UI_WIN_C" Return # in the filled-in code: connect
ui_wait_title "$UI_WIN_C" "^SecureChat — Alice$" 30
# the first contact Alice gets is not shown by itself: nothing was asked
ui_select "$UI_WIN_A" Carol
ui_wait_title "$UI_WIN_A" "^SecureChat — Carol$" 5
step "Carol connected with the invite link"

# --- Bob dials Alice: he decides at once; Alice finds him under Requests.
ui_launch B "$UI_WORK/bob"
xdotool windowmove "$UI_WIN_B" 860 0
ui_create_profile "$UI_WIN_B" Bob "$pass_b"
ui_connect "$UI_WIN_B" "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat — Carol$" 30 # the request counts
ui_trust_dialog "$UI_WIN_B"
ui_accept_request "$UI_WIN_A"
ui_wait_title "$UI_WIN_B" "^SecureChat — Alice$" 30
ui_wait_title "$UI_WIN_A" "^SecureChat — Carol$" 10 # still Carol's thread
step "Bob connected, both accepted"

# --- Dave, a terminal, dials Alice; she accepts him under Requests.
term_start Dave "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat — Carol$" 30
ui_accept_request "$UI_WIN_A"
term_wait Dave '"event":"connected"'
step "Dave (terminal) connected, accepted"

# --- All three write at once; Alice answers each in his or her thread.
msg_b1="Bob's first $nonce"
msg_c1="Carol here $nonce"
msg_d1="Dave from the terminal $nonce"
re_b1="Alice to Bob $nonce"
re_c1="Alice to Carol $nonce"
re_d1="Alice to Dave $nonce"
term_say Dave "$msg_d1"
say "$UI_WIN_B" "$msg_b1"
say "$UI_WIN_C" "$msg_c1"
# Alice's window does not have the keyboard: Carol's message is unread too
ui_wait_title "$UI_WIN_A" "^\(3\) SecureChat — Carol$" 15
ui_select "$UI_WIN_A" Carol
say "$UI_WIN_A" "$re_c1"
ui_select "$UI_WIN_A" Bob
say "$UI_WIN_A" "$re_b1"
ui_select "$UI_WIN_A" Dave
ui_wait_title "$UI_WIN_A" "^SecureChat — Dave$" 5 # all read
say "$UI_WIN_A" "$re_d1"
term_wait Dave "\"text\":\"$re_d1\""
step "three chats at once"

# --- Eve, a key never seen, asks while Alice is typing to Dave.
half="Half of this was typed "
rest="before Eve asked $nonce"
ui_type "$UI_WIN_A" "$half"
term_start Eve "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat — Dave$" 30
sleep 0.5
shot request-while-typing
ui_type "$UI_WIN_A" "$rest" # the input still has the keyboard
ui_key "$UI_WIN_A" Return
term_wait Dave "\"text\":\"$half$rest\""
ui_accept_request "$UI_WIN_A"
term_wait Eve '"event":"connected"'
ui_wait_title "$UI_WIN_A" "^SecureChat — Dave$" 5
msg_e1="Eve says hello $nonce"
term_say Eve "$msg_e1"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat — Dave$" 15 # unread in Eve's thread
ui_select "$UI_WIN_A" Eve
ui_wait_title "$UI_WIN_A" "^SecureChat — Eve$" 5
step "Eve's request waited; Alice's typing went to Dave"

# --- Bob quits and comes back: Connect under his thread dials Alice again.
ui_quit B
ui_select "$UI_WIN_A" Bob
ui_wait_title "$UI_WIN_A" "SecureChat — Bob \(not connected\)$" 10
ui_launch B "$UI_WORK/bob"
xdotool windowmove "$UI_WIN_B" 860 0
ui_unlock "$UI_WIN_B" "$pass_b"
# the list has the keyboard after Tab; Space selects Alice, the only row.
# Opening a contact dials it (and the app reconnects by itself); if Bob's
# thread still says offline, Shift+Tab goes back round to Connect, the
# last button of the window.
ui_key "$UI_WIN_B" Tab space
ui_wait_title "$UI_WIN_B" "SecureChat — Alice( \(|$)" 10
for _ in $(seq 50); do
	[[ $(xdotool getwindowname "$UI_WIN_B") =~ \(not\ connected\)$ ]] || break
	sleep 0.1
done
if [[ $(xdotool getwindowname "$UI_WIN_B") =~ \(not\ connected\)$ ]]; then
	ui_key "$UI_WIN_B" shift+Tab space
fi
ui_wait_title "$UI_WIN_B" "^SecureChat — Alice$" 30
ui_select "$UI_WIN_B" Alice # the keyboard into the input
ui_wait_title "$UI_WIN_A" "^SecureChat — Bob$" 30 # a contact: no request
msg_b2="Bob is back $nonce"
say "$UI_WIN_B" "$msg_b2"
# unread while Alice's window does not have the keyboard, read once it has
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat — Bob$" 10
ui_focus "$UI_WIN_A"
ui_wait_title "$UI_WIN_A" "^SecureChat — Bob$" 5
sleep 0.5
shot bob-reconnected # Alice's window: Bob's thread shows both his messages
step "Bob came back"

# --- Dave (the terminal) sends Alice a file with /send; she accepts it in
# his thread (Accept is in the newest bubble, at the bottom of the thread
# shown), and it arrives whole.
head -c 300000 /dev/urandom >"$UI_WORK/dave-notes.bin"
ui_select "$UI_WIN_A" Dave
ui_wait_title "$UI_WIN_A" "^SecureChat — Dave$" 5
term_say Dave "/send $UI_WORK/dave-notes.bin"
term_wait Dave '"state":"waiting"'
sleep 1
ui_geometry "$UI_WIN_A"
ui_click "$UI_WIN_A" 312 $((UI_H - 109))
term_wait Dave '"state":"done"'
sleep 0.5
shot file-received
step "Dave's file accepted, arrived"

ui_quit B
ui_quit C
term_quit Dave
term_quit Eve
ui_quit A
step "all closed"

# --- The histories.
# hist PROFILE PASSPHRASE: reads the profile's contacts and
# this run's messages into $UI_WORK/PROFILE.{contacts,hits}.
hist() {
	local dir=$1 pass=$2
	SECURECHAT_PASSPHRASE=$pass "$UI_BIN" contacts --json --profile "$dir" >"$dir.contacts" ||
		ui_fail "securechat contacts in $dir failed"
	SECURECHAT_PASSPHRASE=$pass "$UI_BIN" history search "$nonce" --json --profile "$dir" >"$dir.hits" ||
		ui_fail "securechat history search in $dir failed"
}

# fingerprint PROFILE NAME: the key of the contact NAME.
fingerprint() {
	local fp
	fp=$(grep -o "\"contact\":\"[0-9a-f]*\",\"name\":\"$2\"" "$1.contacts" | sed 's/"contact":"\([0-9a-f]*\)".*/\1/')
	[ "$(wc -w <<<"$fp")" = 1 ] || ui_fail "$1: not one contact named $2: $(cat "$1.contacts")"
	echo "$fp"
}

# expect PROFILE PASSPHRASE PARTNER in|out TEXT: TEXT is in the history once, in a
# conversation with PARTNER's key, from or to PARTNER (delivered if sent);
# prints the conversation.
expect() {
	local dir=$1 pass=$2 partner=$3 dir_=$4 text=$5 lines conv fp want out=false
	[ "$dir_" = out ] && out=true
	lines=$(grep -F "\"text\":\"$text\"" "$dir.hits" || true)
	[ "$(grep -c . <<<"$lines")" = 1 ] && [ -n "$lines" ] ||
		ui_fail "$dir: \"$text\" is not in the history once: $(cat "$dir.hits")"
	grep -q "\"partner\":\"$partner\",\"message\":{[^}]*\"outgoing\":$out," <<<"$lines" ||
		ui_fail "$dir: \"$text\" is not a message $dir_ with $partner: $lines"
	if [ "$out" = true ]; then
		grep -q '"status":"delivered"' <<<"$lines" || ui_fail "$dir: \"$text\" was not delivered: $lines"
	fi
	conv=$(sed 's/^{"conversation":"\([0-9a-f]*\)".*/\1/' <<<"$lines")
	# the conversation's key: a connection's, or the outbox's of a contact
	fp=$(SECURECHAT_PASSPHRASE=$pass "$UI_BIN" history show "$conv" --json --profile "$dir" |
		sed -n '1s/^{[^{]*"fingerprint":"\([0-9a-f]*\)".*/\1/p') ||
		ui_fail "$dir: securechat history show $conv failed"
	want=$(fingerprint "$dir" "$partner")
	[ "$fp" = "$want" ] || ui_fail "$dir: \"$text\" is in a conversation with key ${fp:-none}, not $partner's $want"
	echo "$conv"
}

a=$UI_WORK/alice
hist "$a" "$pass_a"
expect "$a" "$pass_a" Carol in "$msg_c1" >/dev/null
expect "$a" "$pass_a" Carol out "$re_c1" >/dev/null
conv_b1=$(expect "$a" "$pass_a" Bob in "$msg_b1")
expect "$a" "$pass_a" Bob out "$re_b1" >/dev/null
conv_b2=$(expect "$a" "$pass_a" Bob in "$msg_b2")
[ "$conv_b1" != "$conv_b2" ] || ui_fail "Bob's two messages are in one connection: did he reconnect?"
expect "$a" "$pass_a" Dave in "$msg_d1" >/dev/null
expect "$a" "$pass_a" Dave out "$re_d1" >/dev/null
expect "$a" "$pass_a" Dave out "$half$rest" >/dev/null
expect "$a" "$pass_a" Eve in "$msg_e1" >/dev/null
[ "$(grep -c . "$a.hits")" = 9 ] || ui_fail "Alice's history has other messages of this run than the 9 expected: $(cat "$a.hits")"
grep -q '"name":"Carol"[^}]*"invited":true' "$a.contacts" || ui_fail "Alice's contact Carol is not marked invited: $(cat "$a.contacts")"
# Dave's file: done in Alice's files, and a copy out of her profile has
# the bytes Dave sent.
files=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" files list Dave --json --profile "$a") || ui_fail "securechat files list failed"
fid=$(grep -F '"name":"dave-notes.bin"' <<<"$files" | grep '"state":"done"' | sed -n 's/.*"id":"\(i-[0-9a-f]*\)".*/\1/p')
[ -n "$fid" ] || ui_fail "Dave's file is not done in Alice's files: $files"
SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" files save Dave "$fid" "$UI_WORK/saved-notes.bin" --profile "$a" >/dev/null ||
	ui_fail "securechat files save failed"
cmp -s "$UI_WORK/dave-notes.bin" "$UI_WORK/saved-notes.bin" || ui_fail "the file Alice saved is not the one Dave sent"

b=$UI_WORK/bob
hist "$b" "$pass_b"
expect "$b" "$pass_b" Alice out "$msg_b1" >/dev/null
expect "$b" "$pass_b" Alice in "$re_b1" >/dev/null
expect "$b" "$pass_b" Alice out "$msg_b2" >/dev/null
[ "$(grep -c . "$b.hits")" = 3 ] || ui_fail "Bob's history has messages not for him: $(cat "$b.hits")"

c=$UI_WORK/carol
hist "$c" "$pass_c"
expect "$c" "$pass_c" Alice out "$msg_c1" >/dev/null
expect "$c" "$pass_c" Alice in "$re_c1" >/dev/null
[ "$(grep -c . "$c.hits")" = 2 ] || ui_fail "Carol's history has messages not for her: $(cat "$c.hits")"
grep -q '"name":"Alice"[^}]*"invited":true' "$c.contacts" || ui_fail "Carol's contact Alice is not marked invited: $(cat "$c.contacts")"

# the terminals saw their own messages only
for t in "$re_b1" "$re_c1"; do
	! grep -qF "$t" "$UI_WORK/Dave.json" "$UI_WORK/Eve.json" || ui_fail "a terminal peer got \"$t\""
done
grep -q '"event":"delivered"' "$UI_WORK/Eve.json" || ui_fail "Eve's message was not delivered: $(cat "$UI_WORK/Eve.json")"

if grep -l "Error in Fyne call thread" "$UI_WORK"/*.log; then
	ui_fail "a widget was changed off the UI goroutine"
fi
echo "ui-e2e: ok in $((SECONDS - started)) s (Alice listened on port $port; Carol with an invite link, Bob and Dave by address chatted with her at once, each message in the right thread; Eve's request waited while Alice typed; Bob reconnected into his thread; Dave's file arrived whole)"
