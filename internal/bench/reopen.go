package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/securechat/securechat/history"
)

// reopenReport is what a child process that opened a profile tells the
// parent: how long the reopen took and how much memory it needed.
type reopenReport struct {
	Open        time.Duration `json:"open_ns"`       // history.Open: unlock and read the history
	Reopen      time.Duration `json:"reopen_ns"`     // Open, list and load the largest conversation
	PeakKiB     int64         `json:"peak_kib"`      // VmHWM: the most resident memory the process ever had
	OpenPeakKiB int64         `json:"open_peak_kib"` // VmHWM once the vault was open, before the load
	HeapKiB     uint64        `json:"heap_kib"`      // Go heap in use after a GC, transcript still held
	Messages    int           `json:"messages"`      // in the loaded conversation
	// CPU is the child's user and system time, start-up included: what the
	// reopen costs when the machine is busy with other work too.
	CPU time.Duration `json:"-"`
}

// ReopenChild is the child process of the reopen and peak-memory rows, run
// as a new process so that its memory is its own: it reads the passphrase
// from the first line of stdin, opens the profile in dir, lists it, loads
// conversation id (none when id is empty), and writes a JSON report to stdout.
func ReopenChild(dir, id string, stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil {
		return fmt.Errorf("failed to read the passphrase: %w", err)
	}
	start := time.Now()
	v, err := history.Open(dir, []byte(strings.TrimSuffix(line, "\n")))
	if err != nil {
		return err
	}
	defer v.Close()
	r := reopenReport{Open: time.Since(start)}
	if r.OpenPeakKiB, err = peakRSS(os.Getpid()); err != nil {
		return err
	}
	if id != "" {
		if _, err := v.Conversations(); err != nil {
			return err
		}
		tr, err := v.Load(id)
		if err != nil {
			return err
		}
		r.Reopen = time.Since(start)
		r.Messages = len(tr.Messages)
		defer runtime.KeepAlive(tr)
	}
	if r.PeakKiB, err = peakRSS(os.Getpid()); err != nil {
		return err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapKiB = ms.HeapAlloc >> 10
	return json.NewEncoder(stdout).Encode(r)
}

// errTimedOut reports a child stopped after the time it was given; its peak
// memory until then is in the report.
var errTimedOut = errors.New("timed out")

// runChild runs cmd with the passphrase on stdin and decodes its report.
// After timeout the child's peak memory so far is read and it is killed.
func runChild(cmd *exec.Cmd, pass []byte, timeout time.Duration) (reopenReport, error) {
	var r reopenReport
	cmd.Stdin = strings.NewReader(string(pass) + "\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("child: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return r, fmt.Errorf("child: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
	case <-time.After(timeout):
		r.PeakKiB, _ = peakRSS(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		<-done
		return r, errTimedOut
	}
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		return r, fmt.Errorf("child: %w", err)
	}
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// peakRSS returns a process's peak resident set in KiB, VmHWM from
// /proc/PID/status (Linux).
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("failed to read peak memory (Linux only): %w", err)
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("failed to read peak memory: no VmHWM in the process status")
}
