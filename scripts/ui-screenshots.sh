#!/usr/bin/env bash
# Takes the screenshots in docs/screenshots/ from the real app under Xvfb,
# with fresh profiles: Alice (the app) listens; Bob (the app) dials her, a
# first contact on both sides; Carol (a terminal) connects too, and Alice
# dials Dave (a terminal listening). They chat; Eve, a new key, asks while
# Alice types; someone calling himself "bob" is a lookalike; another key
# answers at Dave's address (a changed key); Carol sends a picture and a
# document, which Alice accepts, and Alice pastes a picture to Carol.
# Then the New chat, invite,
# details, verify, search and network views, the window at its minimum
# size, the invite link opening the app, and the unlock screen.
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
port_d=$(ui_free_port)
pass_a="correct horse battery staple"
pass_b="another good passphrase"
pass_t="the terminals' passphrase"
mkdir -p "$UI_WORK/alice" "$UI_WORK/bob"

shot() {
	xdotool mousemove 0 799
	sleep 0.5
	ui_window_shot "$1" "$out/$2.png"
	echo "took $2.png"
}

# Terminal peers, fed from fifos (see scripts/ui-e2e.sh).
term_start() {
	local name=$1 dir=$2 fd
	shift 2
	mkdir -p "$UI_WORK/$dir"
	mkfifo "$UI_WORK/$dir.in"
	(
		ui_close_fds
		SECURECHAT_PASSPHRASE=$pass_t exec "$UI_BIN" "$@" --name "$name" --profile "$UI_WORK/$dir" --json \
			<"$UI_WORK/$dir.in" >"$UI_WORK/$dir.json" 2>"$UI_WORK/$dir.log"
	) &
	UI_PIDS+=($!)
	printf -v "TERM_PID_$dir" '%s' "$!"
	exec {fd}>"$UI_WORK/$dir.in"
	UI_FDS+=("$fd")
	printf -v "TERM_FD_$dir" '%s' "$fd"
}
term_say() {
	local var="TERM_FD_$1"
	echo "$2" >&"${!var}"
	sleep 0.5
}
term_wait() {
	local i
	for i in $(seq 300); do
		grep -q -- "$2" "$UI_WORK/$1.json" && return 0
		sleep 0.1
	done
	ui_fail "$1 (terminal): no event /$2/: $(cat "$UI_WORK/$1.json" "$UI_WORK/$1.log")"
}
term_quit() {
	local fd="TERM_FD_$1" pid="TERM_PID_$1" i
	eval "exec {$fd}>&-"
	for i in $(seq 100); do
		kill -0 "${!pid}" 2>/dev/null || return 0
		sleep 0.1
	done
	kill "${!pid}" 2>/dev/null || true
}

# unread WIN: the count the title starts with ("(n) "), unread messages
# and requests; 0 without.
unread() {
	local t
	t=$(xdotool getwindowname "$1")
	if [[ $t =~ ^\(([0-9]+)\)\  ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

say() {
	ui_type "$1" "$2"
	ui_key "$1" Return
	sleep 0.6
}

# --- First start: Alice's name and passphrase, then New chat; she listens.
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
ui_type "$UI_WIN_A" "192.168.1.20"
shot "$UI_WIN_A" new-chat
ui_key "$UI_WIN_A" ctrl+a BackSpace
ui_listen "$UI_WIN_A" "$port"

# --- Bob dials Alice: his side decides at once, hers under Requests.
ui_connect "$UI_WIN_B" "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat" 30
shot "$UI_WIN_B" first-contact
ui_trust_dialog "$UI_WIN_B"
ui_click_search "$UI_WIN_A"
ui_key "$UI_WIN_A" Tab space
shot "$UI_WIN_A" partner-request
ui_trust_dialog "$UI_WIN_A"
ui_wait_title "$UI_WIN_B" "^SecureChat — Alice$" 30
ui_wait_title "$UI_WIN_A" "^SecureChat — Bob$" 30

# --- Carol (a terminal) connects; Alice dials Dave (a terminal listening).
term_start Carol carol connect --accept-files "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\(1\) SecureChat" 30
ui_accept_request "$UI_WIN_A"
term_wait carol '"event":"connected"'
term_start Dave dave host --listen "127.0.0.1:$port_d"
term_wait dave '"event":"listening"'
ui_geometry "$UI_WIN_A"
ui_click "$UI_WIN_A" 110 $((UI_H - 27)) # New chat
ui_wait_title "$UI_WIN_A" 'Host or Connect' 10
ui_key "$UI_WIN_A" ctrl+a
ui_connect "$UI_WIN_A" "127.0.0.1:$port_d"
ui_trust_dialog "$UI_WIN_A" # "First chat with Dave"
term_wait dave '"event":"connected"'
ui_wait_title "$UI_WIN_A" "SecureChat — Dave$" 30

# --- They chat.
term_say dave "Are we still on for Saturday?"
say "$UI_WIN_A" "Yes! 10 o'clock at the market."
term_say carol "The photos from the trip are ready, I'll send the link tonight."
say "$UI_WIN_B" "Hi Alice! Did the parcel arrive?"
ui_select "$UI_WIN_A" Bob
say "$UI_WIN_A" "It did, this morning. Thank you!"
ui_type "$UI_WIN_A" "Two things:"
ui_key "$UI_WIN_A" shift+Return
ui_type "$UI_WIN_A" "the blue one is perfect, and the card made me laugh."
ui_key "$UI_WIN_A" Return
sleep 0.6
say "$UI_WIN_B" "Glad to hear it. Shall we compare safety numbers on Friday, when we meet, so that we know nobody sits between our two computers?"
term_say dave "Great, see you there."
ui_select "$UI_WIN_A" Bob
say "$UI_WIN_A" "Yes, see you on Friday."
sleep 1
shot "$UI_WIN_A" messenger

# --- Eve, a key never seen, asks while Alice is typing to Bob.
ui_type "$UI_WIN_A" "I'll bring the"
n=$(unread "$UI_WIN_A")
term_start Eve eve connect "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\($((n + 1))\) SecureChat — Bob$" 30
shot "$UI_WIN_A" request-while-chatting
ui_type "$UI_WIN_A" " recipe too."
ui_key "$UI_WIN_A" Return
ui_click_search "$UI_WIN_A"
ui_key "$UI_WIN_A" Tab Tab space # Decline
term_quit eve

# --- A lookalike: a new key calling itself "bob".
n=$(unread "$UI_WIN_A")
term_start bob mallory connect "127.0.0.1:$port"
ui_wait_title "$UI_WIN_A" "^\($((n + 1))\) SecureChat — Bob$" 30
ui_click_search "$UI_WIN_A"
ui_key "$UI_WIN_A" Tab space
shot "$UI_WIN_A" lookalike
ui_key "$UI_WIN_A" Tab space # Decline
term_quit mallory

# --- The thread's views: what the network sees, verify. The header's
# buttons are clicked where they are at the default size (820 x 640).
ui_select "$UI_WIN_A" Bob
# a Space that pressed a button also reaches the input: clear it
ui_key "$UI_WIN_A" ctrl+a BackSpace
ui_geometry "$UI_WIN_A"
ui_click "$UI_WIN_A" 100 $((UI_H - 66)) # What the network sees
shot "$UI_WIN_A" network-view
ui_click "$UI_WIN_A" 100 $((UI_H - 66))
ui_click "$UI_WIN_A" 509 25 # Verify
shot "$UI_WIN_A" verify
ui_key "$UI_WIN_A" Tab space # Not now

# --- The minimum size.
ui_select "$UI_WIN_A" Bob
ui_key "$UI_WIN_A" ctrl+a BackSpace
xdotool windowsize "$UI_WIN_A" 600 460
sleep 1
shot "$UI_WIN_A" messenger-min
xdotool windowsize "$UI_WIN_A" 820 640
sleep 1

# --- Search.
ui_click_search "$UI_WIN_A"
ui_type "$UI_WIN_A" "parcel"
ui_key "$UI_WIN_A" Return shift+Tab space # the list: the first hit
ui_key "$UI_WIN_A" ctrl+a BackSpace         # the input has the keyboard
shot "$UI_WIN_A" search
ui_click_search "$UI_WIN_A"
ui_key "$UI_WIN_A" ctrl+a BackSpace

# --- A changed key: Dave leaves, another key answers at his address.
term_quit dave
ui_select "$UI_WIN_A" Dave
ui_wait_title "$UI_WIN_A" "SecureChat — Dave \(not connected\)$" 10
term_start Dave mallory2 host --listen "127.0.0.1:$port_d"
term_wait mallory2 '"event":"listening"'
sleep 1 # Dave's thread shown: its unread message is marked read first
n=$(unread "$UI_WIN_A")
ui_click_search "$UI_WIN_A"
ui_key "$UI_WIN_A" shift+Tab shift+Tab space # the list, then round to Connect
# The key that answered warns at once, since we dialed Dave from his
# thread; had it come in on its own, it would wait under Requests, where
# Accept… warns.
sleep 4
if [ "$(unread "$UI_WIN_A")" -gt "$n" ]; then
	ui_click_search "$UI_WIN_A"
	ui_key "$UI_WIN_A" Tab space
fi
shot "$UI_WIN_A" changed-key
ui_key "$UI_WIN_A" Tab space # Disconnect
term_quit mallory2

# --- Files: Carol (the terminal) sends a picture and a document; Alice
# sees the offers, accepts both (the Accept buttons where they are in a
# thread of one message at the default size, lowest first: accepting the
# first makes it taller), and they arrive.
convert -size 1200x800 gradient:'#87ceeb-#2e8b57' -fill '#f4e04d' -draw 'circle 900,200 960,200' \
	-fill '#1f5f3a' -draw 'polygon 0,800 300,420 600,800' -fill '#2f7f4a' -draw 'polygon 350,800 750,380 1200,800' \
	"$UI_WORK/hills.png"
{ printf '%%PDF-1.4\n'; head -c 2500000 /dev/urandom; } >"$UI_WORK/trip-report.pdf"
ui_select "$UI_WIN_A" Carol
ui_key "$UI_WIN_A" ctrl+a BackSpace
term_say carol "/send $UI_WORK/hills.png"
term_say carol "/send $UI_WORK/trip-report.pdf"
sleep 1.5
shot "$UI_WIN_A" files-offer
ui_click "$UI_WIN_A" 312 531 # Accept trip-report.pdf
ui_click "$UI_WIN_A" 312 388 # Accept hills.png
for i in $(seq 300); do
	[ "$(grep -c '"state":"done"' "$UI_WORK/carol.json")" -ge 2 ] && break
	sleep 0.1
done
[ "$i" -lt 300 ] || ui_fail "the files did not arrive: $(tail -5 "$UI_WORK/carol.json")"
sleep 1.5
shot "$UI_WIN_A" files

# --- A picture itself pasted (a screenshot in the clipboard, put there
# with xclip): Alice sees it and sends it to Carol.
convert -size 640x400 gradient:'#ffd89b-#19547b' -fill '#ffffff' -draw 'circle 320,200 360,200' "$UI_WORK/clip.png"
xclip -selection clipboard -t image/png -i "$UI_WORK/clip.png"
ui_select "$UI_WIN_A" Carol
ui_key "$UI_WIN_A" ctrl+v
sleep 2
shot "$UI_WIN_A" paste-picture
ui_geometry "$UI_WIN_A"
ui_click "$UI_WIN_A" $((UI_W / 2 + 45)) $((UI_H / 2 + 124)) # Send
for i in $(seq 300); do
	grep '"state":"done"' "$UI_WORK/carol.json" | grep -q '"name":"Pasted picture' && break
	sleep 0.1
done
[ "$i" -lt 300 ] || ui_fail "the pasted picture did not arrive: $(tail -5 "$UI_WORK/carol.json")"

# --- Bob's details (the name above the thread), the last view of this run.
ui_select "$UI_WIN_A" Bob
ui_click "$UI_WIN_A" 303 25
shot "$UI_WIN_A" contact-details
ui_quit B
term_quit carol
ui_quit A

# --- An invite link opens the app: Carol makes her profile, the invite
# is filled in.
code=$(SECURECHAT_PASSPHRASE=$pass_a "$UI_BIN" invite --profile "$UI_WORK/alice" --addr 192.168.1.20 --json | sed -n 's/.*"code":"\([a-z0-9]*\)".*/\1/p')
mkdir -p "$UI_WORK/carol-app"
ui_launch C "$UI_WORK/carol-app" "securechat:$code"
xdotool windowmove "$UI_WIN_C" 900 0
ui_create_profile "$UI_WIN_C" Carol "a third good passphrase"
sleep 1
shot "$UI_WIN_C" connect-invite
ui_quit C

# --- Unlock with a wrong passphrase, then the right one; invite someone.
ui_launch A "$UI_WORK/alice"
xdotool windowmove "$UI_WIN_A" 0 0
ui_wait_title "$UI_WIN_A" '^SecureChat$'
ui_type "$UI_WIN_A" "not my passphrase"
ui_key "$UI_WIN_A" Return
sleep 2
shot "$UI_WIN_A" unlock-wrong-passphrase
ui_key "$UI_WIN_A" ctrl+a BackSpace
ui_unlock "$UI_WIN_A" "$pass_a" "waiting on port $port" # listening again
ui_geometry "$UI_WIN_A"
ui_click "$UI_WIN_A" 110 $((UI_H - 27)) # New chat
ui_wait_title "$UI_WIN_A" 'Host or Connect' 10
ui_click "$UI_WIN_A" $((UI_W / 2 - 98)) $((UI_H / 2 - 105)) # the Listen tab
ui_key "$UI_WIN_A" Tab Tab Tab space # port, only contacts, Invite someone…
sleep 0.5
shot "$UI_WIN_A" invite-options
ui_key "$UI_WIN_A" Tab Tab Tab Tab space # over the two choices and Cancel to Make invite
sleep 1.5
shot "$UI_WIN_A" invite
ui_quit A

if grep -l "Error in Fyne call thread" "$UI_WORK"/*.log; then
	ui_fail "a widget was changed off the UI goroutine"
fi
echo "screenshots: ok, in $out"
