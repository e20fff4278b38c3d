#!/usr/bin/env bash
# Memory of the unlocked, idle app against a minimal Fyne app (issue 10,
# item 7), both real windows under Xvfb as in scripts/ui-e2e.sh. The
# profile is made once through the app's first-start screen. Then, RUNS
# times, in turn (the order alternates): the minimal app (cmd/fyneminimal:
# one window of the same size, one list) is started and left idle; the app
# is started, its window left idle at the unlock screen, then unlocked,
# read one second after its window shows Host or Connect, and left idle
# again. After each idle wait the resident memory of the process is read:
# VmRSS and VmHWM (the peak, which unlocking's Argon2id sets) from
# /proc/PID/status, Pss from /proc/PID/smaps_rollup. Only one of the two
# apps runs at a time, so that the libraries they share do not split their
# Pss.
#
# Prints one line per reading, for cmd/scbench (the "memory" group):
#
#   mem RUN WHAT RSS_KIB PSS_KIB HWM_KIB
#
# WHAT is minimal, locked (the app idle at its unlock screen), unlocked1s
# (one second after unlocking) or unlocked (idle after unlocking).
#
# usage: scripts/bench-memory.sh APP MINIMAL [RUNS] [IDLE_SECONDS]
#        (UI_KEEP=1 keeps the logs)

set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 APP MINIMAL [RUNS] [IDLE_SECONDS]" >&2; exit 2; }
UI_BIN=$(realpath "$1")
minimal=$(realpath "$2")
runs=${3:-3}
idle=${4:-10}
# shellcheck source=scripts/ui-lib.sh
source "$(dirname "$0")/ui-lib.sh"

[ -x "$UI_BIN" ] || ui_fail "no app at $UI_BIN (make build)"
[ -x "$minimal" ] || ui_fail "no minimal Fyne app at $minimal"
# Both apps get the environment the app would choose for itself here
# (ui/quiet.go): X11 without a Wayland probe.
export FYNE_PLATFORM=x11 LANG=C.UTF-8
ui_start_x
pass="bench memory passphrase $RANDOM$RANDOM"
profile="$UI_WORK/profile"
mkdir -p "$profile"

# mem_read RUN WHAT PID: prints the reading line.
mem_read() {
	local run=$1 what=$2 pid=$3 rss hwm pss
	kill -0 "$pid" 2>/dev/null || ui_fail "$what exited while idle"
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
	pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
	echo "mem $run $what $rss $pss $hwm"
	if [ -n "${BENCH_MEMORY_SMAPS:-}" ]; then
		cp "/proc/$pid/smaps" "$UI_WORK/$what-$run.smaps"
	fi
}

# stop PID: stops a process this script started and waits for it.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	local i
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

run_minimal() {
	local run=$1 pid i
	"$minimal" >"$UI_WORK/minimal-$run.log" 2>&1 &
	pid=$!
	UI_PIDS+=("$pid")
	for i in $(seq 300); do
		xdotool search --onlyvisible --name '^Fyne minimal$' >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || ui_fail "the minimal app exited at start"
		sleep 0.1
	done
	[ "$i" -lt 300 ] || ui_fail "no window for the minimal app"
	sleep "$idle"
	mem_read "$run" minimal "$pid"
	stop "$pid"
}

run_app() {
	local run=$1
	ui_launch A "$profile"
	sleep "$idle"
	mem_read "$run" locked "$UI_PID_A"
	ui_unlock "$UI_WIN_A" "$pass" # returns 0.3 s after the title changed
	sleep 0.7
	mem_read "$run" unlocked1s "$UI_PID_A"
	sleep "$idle"
	mem_read "$run" unlocked "$UI_PID_A"
	ui_quit A
}

ui_launch A "$profile"
ui_create_profile "$UI_WIN_A" Bench "$pass"
ui_quit A

for run in $(seq "$runs"); do
	if ((run % 2)); then
		run_minimal "$run"
		run_app "$run"
	else
		run_app "$run"
		run_minimal "$run"
	fi
done
