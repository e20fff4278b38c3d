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

# UI_FDS are file descriptors the script holds open (the write ends of
# the fifos feeding terminal peers); ui_close_fds closes them in a process
# about to start another, so that a fifo's end of input reaches its reader.
UI_FDS=()
ui_close_fds() {
	local fd
	for fd in "${UI_FDS[@]}"; do
		eval "exec $fd>&-"
	done
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
	# Fyne keeps its preferences (e.g. whether the profile was listening)
	# under XDG_CONFIG_HOME: one folder per instance, never the user's own.
	mkdir -p "$UI_WORK/config-$name"
	(
		ui_close_fds
		XDG_CONFIG_HOME="$UI_WORK/config-$name" SECURECHAT_PROFILE=$profile LANG=C.UTF-8 \
			exec "$UI_BIN" "$@" >>"$UI_WORK/$name.log" 2>&1
	) &
	pid=$!
	UI_PIDS+=("$pid")
	printf -v "UI_PID_$name" '%s' "$pid"
	printf -v "UI_DIR_$name" '%s' "$profile"
	for i in $(seq 300); do
		win=""
		for w in $(xdotool search --onlyvisible --name 'SecureChat' 2>/dev/null || true); do
			[[ $before == *" $w "* ]] || win=$w
		done
		if [ -n "$win" ]; then
			printf -v "UI_WIN_$name" '%s' "$win"
			printf -v "UI_DIR_$win" '%s' "$profile"
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

# ui_unlock WIN PASSPHRASE [TITLE_REGEX]: fills in the unlock screen and
# waits until the profile is open (the app holds its lock file); then, if
# TITLE_REGEX is given, until the title matches it. A profile without
# contacts opens the New chat dialog ("Host or Connect"); with contacts the
# title stays "SecureChat" (with "(n) " for unread messages).
ui_unlock() {
	local win=$1 pass=$2 re=${3:-} var="UI_DIR_$1" i
	local dir=${!var}
	ui_wait_title "$win" '^SecureChat$'
	ui_type "$win" "$pass"
	ui_key "$win" Return
	for i in $(seq 300); do
		flock -n "$dir/lock" true 2>/dev/null || break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || ui_fail "window $win: the profile in $dir did not open"
	if [ -n "$re" ]; then
		ui_wait_title "$win" "$re" 30
	else
		# the contact list and the first-start dialog come a moment later
		for i in $(seq 20); do
			[[ $(xdotool getwindowname "$win" 2>/dev/null || true) == "SecureChat" ]] || break
			sleep 0.1
		done
	fi
	sleep 0.3
}

# ui_geometry WIN: sets UI_W and UI_H to the window's size.
ui_geometry() {
	eval "$(xdotool getwindowgeometry --shell "$1")"
	UI_W=$WIDTH
	UI_H=$HEIGHT
}

# ui_click WIN X Y: clicks at a point of the window, then moves the pointer
# out of the way so that no hover shows.
ui_click() {
	ui_focus "$1"
	xdotool mousemove --window "$1" "$2" "$3" click 1
	sleep 0.3
	xdotool mousemove 0 699 # below the windows (640 high at most)
	sleep 0.1
}

# ui_click_search WIN: puts the keyboard into the search field at the top
# of the contact list, the one place of the window that never moves. From
# there Tab reaches the first request's Accept… and Shift+Tab the list.
ui_click_search() {
	ui_click "$1" 100 25
}

# ui_listen WIN PORT: listens on PORT from the New chat dialog (open: the
# first start, or after New chat). Its tabs take no keyboard focus: the
# Listen tab is clicked, at its place in the dialog as it opens (centred in
# the window, the Connect tab shown); Tab then reaches the port field.
ui_listen() {
	local win=$1 port=$2
	ui_wait_title "$win" 'Host or Connect' 10
	ui_geometry "$win"
	ui_click "$win" $((UI_W / 2 - 98)) $((UI_H / 2 - 105))
	ui_key "$win" Tab ctrl+a
	ui_type "$win" "$port"
	ui_key "$win" Return
	ui_wait_title "$win" "waiting on port $port\$" 10
}

# ui_connect WIN HOST:PORT: connects from the New chat dialog; its address
# field has the keyboard when it opens.
ui_connect() {
	ui_type "$1" "$2"
	ui_key "$1" Return
}

# ui_trust_dialog WIN: presses the accepting button of the trust dialog
# shown (Tab to Decline, Tab to Accept, Space presses it).
ui_trust_dialog() {
	sleep 0.5
	ui_key "$1" Tab Tab space
}

# ui_accept_request WIN: accepts the first request under Requests: its
# Accept… (the first button after the search field) opens the trust
# dialog, whose Accept lets the key in.
ui_accept_request() {
	local win=$1
	ui_click_search "$win"
	ui_key "$win" Tab space
	ui_trust_dialog "$win"
}

# ui_select WIN NAME [ROWS]: shows NAME's thread, with the keyboard in its
# input. The list (Shift+Tab from the search field) is walked from the top
# with the arrow keys, Space selecting a row, until the title names NAME;
# the order of the rows (newest activity first) does not matter.
ui_select() {
	local win=$1 name=$2 rows=${3:-6} i j title="" keys re
	re="SecureChat — $name( \(|$)"
	title=$(xdotool getwindowname "$win" 2>/dev/null || true)
	if [[ $title =~ $re ]]; then
		# shown already: selecting its row again does nothing, and the
		# keyboard would stay in the list; a click puts it in the input
		# (right of the attach button, left of Send, at any window size).
		ui_geometry "$win"
		ui_click "$win" $((UI_W - 150)) $((UI_H - 27))
		return 0
	fi
	for i in $(seq 0 $((rows - 1))); do
		ui_click_search "$win"
		keys=(shift+Tab)
		for j in $(seq "$rows"); do keys+=(Up); done
		for j in $(seq "$i"); do keys+=(Down); done
		keys+=(space)
		ui_focus "$win"
		for j in "${keys[@]}"; do
			xdotool key "$j"
			sleep 0.05
		done
		sleep 0.3
		title=$(xdotool getwindowname "$win" 2>/dev/null || true)
		if [[ $title =~ $re ]]; then
			return 0
		fi
	done
	ui_fail "window $win: no row of the contact list shows $name (title \"$title\")"
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
