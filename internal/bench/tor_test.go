package bench

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcStat_CountsFieldsFromTheLastParenthesis(t *testing.T) {
	// A command name with a space and a parenthesis; utime 123, stime 45,
	// starttime 98765.
	line := "4242 (tor (x) y) S 1 4242 4242 0 -1 4194560 1500 0 0 0 123 45 0 0 20 0 1 0 98765 123456789 12000 18446744073709551615\n"
	st, err := parseProcStat(line)
	require.NoError(t, err)
	assert.Equal(t, "S", st.state)
	assert.Equal(t, 1680*time.Millisecond, st.cpu)
	assert.Equal(t, uint64(98765), st.start)

	_, err = parseProcStat("4242 tor S 1")
	assert.Error(t, err)
	_, err = parseProcStat("4242 (tor) S 1 2 3")
	assert.Error(t, err)
}

func TestProcStatusKiB(t *testing.T) {
	status := "Name:\ttor\nVmHWM:\t   48600 kB\nVmRSS:\t   48500 kB\nThreads:\t3\n"
	kib, err := procStatusKiB(status, "VmRSS", "VmHWM")
	require.NoError(t, err)
	assert.Equal(t, []int64{48500, 48600}, kib)
	_, err = procStatusKiB(status, "VmSwap")
	assert.Error(t, err)
	_, err = procStatusKiB("VmRSS:\tmany kB\n", "VmRSS")
	assert.Error(t, err)
}

func torTestResults() torResults {
	ms := func(ns ...int) samples {
		var s samples
		for _, n := range ns {
			s = append(s, time.Duration(n)*time.Millisecond)
		}
		return s
	}
	return torResults{
		network: 8 * time.Second,
		cold: []torStart{
			{ready: 5 * time.Second, reachable: 6 * time.Second, cpu: 500 * time.Millisecond, rssKiB: 48000, hwmKiB: 48100},
			{ready: 4 * time.Second, reachable: 7 * time.Second, cpu: 400 * time.Millisecond, rssKiB: 47000, hwmKiB: 47100},
			{ready: 6 * time.Second, reachable: 8 * time.Second, cpu: 600 * time.Millisecond, rssKiB: 49000, hwmKiB: 49100},
		},
		warm:       torStart{ready: 3 * time.Second, reachable: 4 * time.Second, cpu: 450 * time.Millisecond},
		idle:       10 * time.Second,
		idleRSS:    48640,
		idleHWM:    49152,
		idleCPU:    20 * time.Millisecond,
		selfRSS:    15360,
		firstHS:    450 * time.Millisecond,
		hsTor:      ms(180, 200, 190),
		hsDirect:   ms(14, 15, 13),
		rttTor:     ms(16, 15, 80),
		rttDirect:  ms(1, 1, 2),
		stops:      []torStop{{took: 40 * time.Millisecond, gone: true}, {took: 50 * time.Millisecond, gone: true}},
		torVersion: "Tor version 0.4.9.11",
	}
}

func TestTorRows(t *testing.T) {
	rows := torRows(torTestResults())
	byName := map[string]Row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	require.Len(t, byName, len(rows), "row names are unique")
	cold := byName["Tor mode: start → connected to Tor, cold"]
	assert.Equal(t, "5 s", cold.Ours, "the median of 5, 4 and 6 s")
	assert.Contains(t, cold.Note, "5 s, 4 s, 6 s", "the spread, in the order taken")
	assert.Contains(t, cold.Note, "floor")
	reach := byName["Tor mode: start → reachable at its onion address, cold"]
	assert.Equal(t, "7 s", reach.Ours)
	assert.Contains(t, reach.Note, "2 s after connected")
	assert.Equal(t, "3 s / 4 s", byName["Tor mode: start → connected / reachable, warm"].Ours)

	hs := byName["handshake through Tor: dial .onion to connected"]
	assert.Equal(t, "190 ms", hs.Ours)
	assert.Equal(t, "direct loopback 14 ms", hs.Peers)
	assert.Equal(t, "13.57×", hs.Ratio)
	assert.Contains(t, hs.Note, "450 ms")
	p50 := byName["round trip 100 B through Tor, p50"]
	assert.Equal(t, "16 ms", p50.Ours)
	assert.Equal(t, "16.00×", p50.Ratio)
	assert.Equal(t, "80 ms", byName["round trip 100 B through Tor, p99"].Ours)

	mem := byName["tor process: RSS idle 10 s after reachable"]
	assert.Equal(t, "47.5 MiB", mem.Ours)
	assert.Equal(t, "this bench process 15.0 MiB", mem.Peers)
	assert.Contains(t, mem.Note, "the app idle: see the idle RSS row")
	cpu := byName["tor process: CPU time over the start / idle 10 s"]
	assert.Equal(t, "500 ms / 20 ms", cpu.Ours)
	assert.Contains(t, cpu.Note, "0.20% of one core")

	stop := byName["tor stopped when Tor mode closes"]
	assert.Equal(t, "2 of 2 gone", stop.Ours)
	require.NotNil(t, stop.Met)
	assert.True(t, *stop.Met)
	assert.Contains(t, stop.Note, "no longer exists")
}

func TestTorRows_SaysWhatWasLeftAndWhatCouldNotBeRead(t *testing.T) {
	res := torTestResults()
	res.stops = append(res.stops, torStop{took: 5 * time.Second, state: "state Z"})
	res.idleErr = errors.New("open /proc/1/stat: no such file or directory")
	res.idleCPU = 0
	rows := torRows(res)
	var stop, mem Row
	for _, r := range rows {
		switch {
		case r.Name == "tor stopped when Tor mode closes":
			stop = r
		case strings.HasPrefix(r.Name, "tor process: RSS"):
			mem = r
		}
	}
	assert.Equal(t, "2 of 3 gone", stop.Ours)
	require.NotNil(t, stop.Met)
	assert.False(t, *stop.Met)
	assert.Contains(t, stop.Note, "Close 3: state Z")
	assert.Equal(t, "—", mem.Ours)
	assert.Contains(t, mem.Note, "not measured")
}

func TestTorMissingRow(t *testing.T) {
	r := torMissingRow("no tor program found")
	assert.Equal(t, "—", r.Ours)
	assert.Equal(t, "not measured: no tor program found", r.Note)
	assert.Equal(t, "0 s (< 10 ms)", fmtCPU(0))
}

func TestSlowest_NamesTheP99Sample(t *testing.T) {
	for n, want := range map[int]string{1: "slowest", 50: "slowest", 100: "2nd slowest", 1000: "11th slowest", 1100: "12th slowest", 2000: "21st slowest", 2100: "22nd slowest", 200: "3rd slowest", 300: "4th slowest"} {
		assert.Equal(t, want, slowest(n-rank99(n)+1), "n=%d", n)
	}
}
