package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/securechat/securechat/history"
)

// GroupMemory is the resident memory of the real app, unlocked and idle in
// a window under Xvfb, against a minimal Fyne app in the same run
// (scripts/bench-memory.sh).
const GroupMemory = "memory"

// memoryLimit is the target: unlocked and idle, the app stays within
// 30 MB of a minimal Fyne app's RSS.
const memoryLimit = 30_000_000

// memReading is one line of scripts/bench-memory.sh: "mem RUN WHAT RSS PSS
// HWM", the three in KiB.
type memReading struct {
	run           int
	what          string
	rss, pss, hwm int64 // KiB
}

// The WHATs of scripts/bench-memory.sh.
const (
	memMinimal    = "minimal"    // the minimal Fyne app, idle
	memLocked     = "locked"     // the app idle at its unlock screen
	memUnlocked1s = "unlocked1s" // one second after unlocking
	memUnlocked   = "unlocked"   // idle after unlocking
)

func parseMemory(r io.Reader) ([]memReading, error) {
	var out []memReading
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "mem" {
			continue
		}
		if len(f) != 6 {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		m := memReading{what: f[2]}
		var err error
		if m.run, err = strconv.Atoi(f[1]); err != nil {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		for i, p := range []*int64{&m.rss, &m.pss, &m.hwm} {
			if *p, err = strconv.ParseInt(f[3+i], 10, 64); err != nil || *p <= 0 {
				return nil, fmt.Errorf("bad line %q", sc.Text())
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// memoryRuns groups the readings by run; every run must have all four.
func memoryRuns(ms []memReading) ([]map[string]memReading, error) {
	byRun := map[int]map[string]memReading{}
	for _, m := range ms {
		if byRun[m.run] == nil {
			byRun[m.run] = map[string]memReading{}
		}
		byRun[m.run][m.what] = m
	}
	var runs []int
	for r := range byRun {
		runs = append(runs, r)
	}
	slices.Sort(runs)
	var out []map[string]memReading
	for _, r := range runs {
		for _, w := range []string{memMinimal, memLocked, memUnlocked1s, memUnlocked} {
			if _, ok := byRun[r][w]; !ok {
				return nil, fmt.Errorf("run %d has no %s reading", r, w)
			}
		}
		out = append(out, byRun[r])
	}
	if len(out) == 0 {
		return nil, errors.New("no readings")
	}
	return out, nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// signedMiB prints a difference of KiB as "+16.2 MiB" or "−3.0 MiB".
func signedMiB(kib int64) string {
	if kib < 0 {
		return "−" + mib(-kib)
	}
	return "+" + mib(kib)
}

// memoryRows turns the runs into the table's rows.
func memoryRows(runs []map[string]memReading, idle time.Duration) []Row {
	med := func(what string, f func(memReading) int64) int64 {
		var xs []int64
		for _, r := range runs {
			xs = append(xs, f(r[what]))
		}
		return quantile(xs, 0.5)
	}
	rss := func(m memReading) int64 { return m.rss }
	pss := func(m memReading) int64 { return m.pss }
	hwm := func(m memReading) int64 { return m.hwm }
	// Differences are taken within a run, then the median over runs.
	var diffs, pssDiffs, fresh []int64
	for _, r := range runs {
		diffs = append(diffs, r[memUnlocked].rss-r[memMinimal].rss)
		pssDiffs = append(pssDiffs, r[memUnlocked].pss-r[memMinimal].pss)
		fresh = append(fresh, r[memUnlocked1s].rss-r[memLocked].rss)
	}
	diff := quantile(diffs, 0.5)
	var each []string
	for _, d := range diffs {
		each = append(each, signedMiB(d))
	}
	argonKiB := int64(history.DefaultParams.MemoryKiB)
	freshDiff := quantile(fresh, 0.5)
	return []Row{
		{
			Name:   "idle RSS, unlocked app vs minimal Fyne app, Xvfb",
			Ours:   mib(med(memUnlocked, rss)),
			Peers:  "minimal Fyne app " + mib(med(memMinimal, rss)),
			Ratio:  signedMiB(diff),
			Target: "≤ +30 MB (28.6 MiB)",
			Met:    verdict(diff*1024 <= memoryLimit),
			Note: fmt.Sprintf("VmRSS of the real app (bin/securechat, release build) idle %s after unlocking its profile "+
				"(made through its first-start screen, DefaultParams) at the Host or Connect screen, and of cmd/fyneminimal "+
				"(one window of the same size, one list, the same build flags) idle %s after its window showed; "+
				"one at a time on one Xvfb screen, as scripts/ui-e2e.sh runs the app (scripts/bench-memory.sh); "+
				"the difference is taken within each run (%s), median of %d run(s); Pss %s vs %s (%s); "+
				"the app idle at its unlock screen %s",
				fmtDur(idle), fmtDur(idle), strings.Join(each, ", "), len(runs),
				mib(med(memUnlocked, pss)), mib(med(memMinimal, pss)), signedMiB(quantile(pssDiffs, 0.5)),
				mib(med(memLocked, rss))),
		},
		{
			Name:   "RSS 1 s after unlocking, above the unlock screen",
			Ours:   mib(med(memUnlocked1s, rss)),
			Peers:  "unlock screen " + mib(med(memLocked, rss)) + " · peak while unlocking " + mib(med(memUnlocked, hwm)),
			Ratio:  signedMiB(freshDiff),
			Target: fmt.Sprintf("Argon2id's %d MiB given back: < +%d MiB", argonKiB>>10, argonKiB>>11),
			Met:    verdict(freshDiff < argonKiB/2),
			Note: fmt.Sprintf("the same runs; the peak (VmHWM) is Argon2id's %d MiB buffer on top of the unlock screen; "+
				"the target is met when less than half of it is still held one second after the window shows Host or Connect",
				argonKiB>>10),
		},
	}
}

// memory runs scripts/bench-memory.sh through [Options.MemoryCmd].
func (r *runner) memory() error {
	if r.o.MemoryCmd == nil {
		return errors.New("no way to run scripts/bench-memory.sh")
	}
	// Each run: two starts, three idle waits and an unlock; the profile is
	// made first.
	timeout := time.Duration(r.o.MemoryRuns)*(3*r.o.MemoryIdle+time.Minute) + 2*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := r.o.MemoryCmd(ctx, r.o.MemoryRuns, r.o.MemoryIdle)
	// Stopped, the script stops what it started (its EXIT trap).
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(stderr.String(), 40))
	}
	ms, err := parseMemory(&stdout)
	if err != nil {
		return err
	}
	runs, err := memoryRuns(ms)
	if err != nil {
		return err
	}
	for _, row := range memoryRows(runs, r.o.MemoryIdle) {
		r.rep.add(row)
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// MemoryCommand is the usual [Options.MemoryCmd]: the script at script,
// measuring the app at app against the minimal Fyne app at minimal.
func MemoryCommand(script, app, minimal string) func(ctx context.Context, runs int, idle time.Duration) *exec.Cmd {
	return func(ctx context.Context, runs int, idle time.Duration) *exec.Cmd {
		secs := strconv.FormatFloat(idle.Seconds(), 'f', -1, 64)
		return exec.CommandContext(ctx, script, app, minimal, strconv.Itoa(runs), secs)
	}
}
