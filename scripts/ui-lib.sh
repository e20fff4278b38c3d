# shellcheck shell=bash
# Helpers for driving the desktop app under Xvfb with xdotool, shared by
# scripts/ui-e2e.sh and scripts/ui-screenshots.sh. Source it; it sets
# DISPLAY to a fresh virtual screen and stops everything it started on exit.

set -euo pipefail

UI_PIDS=()
UI_WORK=$(mktemp -d /tmp/securechat-ui.XXXXXX)

ui_cleanup() {
	local status=$?
	local p
	for p in "${UI_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${UI_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$status" -ne 0 ]; then
		echo "--- failed; logs and screens are in $UI_WORK" >&2
		local f
		for f in "$UI_WORK"/*.log; do
			[ -e "$f" ] || continue
			echo "--- $f" >&2
			grep -v 'XDG_RUNTIME_DIR\|D-Bus\|dbus-launch\|theme settings\|app_xdg.go' "$f" >&2 || true
		done
	elif [ -z "${UI_KEEP:-}" ]; then
		rm -rf "$UI_WORK"
	fi
	return "$status"
}
trap ui_cleanup EXIT

ui_fail() {
	echo "FAIL: $*" >&2
	ui_shot "failure" || true
	exit 1
}

# ui_start_x starts Xvfb on a free display. Xvfb picks the display itself
# (-displayfd), so two test runs starting at once cannot clash.
ui_start_x() {
	local fifo="$UI_WORK/display" n="" i
	mkfifo "$fifo"
	Xvfb -displayfd 3 -screen 0 "${UI_SCREEN:-1700x700x24}" -nolisten tcp 3>"$fifo" >"$UI_WORK/xvfb.log" 2>&1 &
	UI_PIDS+=($!)
	read -r -t 30 n <"$fifo" || ui_fail "Xvfb did not start"
	rm -f "$fifo"
	export DISPLAY=":$n"
	for i in $(seq 100); do
		xdpyinfo >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	ui_fail "Xvfb did not start on $DISPLAY"
}

# ui_free_port prints a TCP port nobody listens on.
ui_free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# ui_launch NAME PROFILE_DIR [ARG...]: starts the app (with ARGs, e.g. a
# clicked securechat: link) and waits for its window; sets UI_WIN_NAME to
# the window id and UI_PID_NAME to the process id. The app's output goes to
# $UI_WORK/NAME.log.
ui_launch() {
	local name=$1 profile=$2 pid win i before
	shift 2
	# GLFW does not set _NET_WM_PID, so the new window is the one that was
	# not there before
	before=" $(xdotool search --onlyvisible --name 'SecureChat' 2>/dev/null | tr '\n' ' ' || true) "
	SECURECHAT_PROFILE=$profile LANG=C.UTF-8 "$UI_BIN" "$@" >"$UI_WORK/$name.log" 2>&1 &
	pid=$!
	UI_PIDS+=("$pid")
	printf -v "UI_PID_$name" '%s' "$pid"
	for i in $(seq 300); do
		win=""
		for w in $(xdotool search --onlyvisible --name 'SecureChat' 2>/dev/null || true); do
			[[ $before == *" $w "* ]] || win=$w
		done
		if [ -n "$win" ]; then
			printf -v "UI_WIN_$name" '%s' "$win"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || ui_fail "$name exited at start"
		sleep 0.1
	done
	ui_fail "no window for $name"
}

# ui_wait_title WIN REGEX [SECONDS]: waits until the window title matches.
ui_wait_title() {
	local win=$1 re=$2 secs=${3:-30} i title=""
	for i in $(seq $((secs * 10))); do
		title=$(xdotool getwindowname "$win" 2>/dev/null || true)
		if [[ $title =~ $re ]]; then
			return 0
		fi
		sleep 0.1
	done
	ui_fail "window $win: title is \"$title\", waited for /$re/"
}

# ui_focus WIN: gives the window the keyboard.
ui_focus() {
	xdotool windowfocus --sync "$1"
	sleep 0.2
}

# ui_type WIN TEXT: types into the window's focused widget.
ui_type() {
	ui_focus "$1"
	xdotool type --delay 40 -- "$2"
}

# ui_key WIN KEY...: presses keys in the window.
ui_key() {
	local win=$1
	shift
	ui_focus "$win"
	local k
	for k in "$@"; do
		xdotool key "$k"
		sleep 0.15
	done
}

# ui_shot NAME: saves the whole screen as $UI_WORK/NAME.png.
ui_shot() {
	import -window root "$UI_WORK/$1.png"
}

# ui_window_shot WIN FILE: saves one window as FILE.
ui_window_shot() {
	import -window "$1" "$2"
}

# ui_create_profile WIN NAME PASSPHRASE: fills in the first-start screen.
ui_create_profile() {
	local win=$1 name=$2 pass=$3
	ui_wait_title "$win" '^SecureChat$'
	ui_type "$win" "$name"
	ui_key "$win" Tab
	ui_type "$win" "$pass"
	ui_key "$win" Tab
	ui_type "$win" "$pass"
	ui_key "$win" Return
	ui_wait_title "$win" 'Host or Connect' 90
	sleep 0.3
}

# ui_unlock WIN PASSPHRASE: fills in the unlock screen.
ui_unlock() {
	local win=$1 pass=$2
	ui_wait_title "$win" '^SecureChat$'
	ui_type "$win" "$pass"
	ui_key "$win" Return
	ui_wait_title "$win" 'Host or Connect' 30
	sleep 0.3
}

# ui_host WIN PORT: chooses Host on PORT. The address field of Connect has
# the focus; Shift+Tab goes back over its drop-down button, Invite
# someone, the Host button and the only-contacts box to the port field.
ui_host() {
	local win=$1 port=$2
	ui_key "$win" shift+Tab shift+Tab shift+Tab shift+Tab shift+Tab ctrl+a
	ui_type "$win" "$port"
	ui_key "$win" Return
	ui_wait_title "$win" "waiting on port $port" 10
}

# ui_connect WIN HOST:PORT: chooses Connect; the address field has the focus.
ui_connect() {
	ui_type "$1" "$2"
	ui_key "$1" Return
}

# ui_accept_request WIN PARTNER: presses Accept in the partner request
# dialog (Tab to Decline, Tab to Accept, Space presses it).
ui_accept_request() {
	ui_wait_title "$1" "SecureChat — $2\$" 30
	sleep 0.5
	ui_key "$1" Tab Tab space
}

# ui_quit NAME: asks the app to quit the way a logout does (SIGTERM) and
# waits for it, so that the history is flushed and the profile unlocked.
ui_quit() {
	local var="UI_PID_$1" i
	local pid=${!var}
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	ui_fail "$1 did not quit"
}
