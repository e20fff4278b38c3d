package filetest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/securechat/securechat/cli"
	"github.com/stretchr/testify/require"
)

// envCLI makes this test binary run the securechat command line instead.
const envCLI = "SECURECHAT_FILETEST_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envCLI) == "1" {
		os.Exit(cli.Main(os.Args[1:], "filetest"))
	}
	os.Exit(m.Run())
}

// proc is one securechat command, its JSON events read from stdout and its
// memory sampled from /proc.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	events []map[string]any
	lines  []string
	stderr bytes.Buffer
	more   chan struct{}
	done   chan struct{}
	// maxRSS is the largest VmRSS sampled, in KiB.
	maxRSS int64
}

// start runs `securechat args... --profile profile` with the passphrase of
// name in the environment.
func start(t *testing.T, name, profile string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--profile", profile)...)
	cmd.Env = append(os.Environ(), envCLI+"=1", cli.EnvPassphrase+"=pass-"+name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, more: make(chan struct{}, 1), done: make(chan struct{})}
	cmd.Stderr = &syncWriter{mu: &p.mu, w: &p.stderr}
	require.NoError(t, cmd.Start())
	go p.sample()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var e map[string]any
			_ = json.Unmarshal(sc.Bytes(), &e)
			p.mu.Lock()
			p.lines = append(p.lines, time.Now().Format("15:04:05.000")+" "+sc.Text())
			if e != nil {
				p.events = append(p.events, e)
			}
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.dump()
		}
	})
	return p
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// dump logs what the process printed.
func (p *proc) dump() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		p.t.Logf("%s: %s", p.name, l)
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		p.t.Logf("%s stderr: %s", p.name, s)
	}
}

// sample records the process's largest VmRSS until it exits.
func (p *proc) sample() {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := procStatus(p.cmd.Process.Pid)
		if err != nil || st["VmRSS"] == 0 {
			return // gone (a zombie has no VmRSS)
		}
		p.mu.Lock()
		p.maxRSS = max(p.maxRSS, st["VmRSS"])
		p.mu.Unlock()
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
	}
}

// procStatus reads the memory lines of /proc/pid/status, in KiB.
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Vm") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 2 && f[1] == "kB" {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			out[k] = n
		}
	}
	return out, nil
}

// rss is the process's VmRSS now, in KiB.
func (p *proc) rss() int64 {
	p.t.Helper()
	st, err := procStatus(p.cmd.Process.Pid)
	require.NoError(p.t, err)
	return st["VmRSS"]
}

// peak is the process's peak resident memory (its VmHWM, from the kernel's
// accounting once it exited), in KiB; at least the largest VmRSS sampled.
func (p *proc) peak() int64 {
	p.t.Helper()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	peak := p.maxRSS
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = max(peak, ru.Maxrss) // KiB on Linux
	}
	return peak
}

// wait returns the first event that ok accepts, within d; it fails the
// test when the process exits first or the time is up.
func (p *proc) wait(d time.Duration, what string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	e, found := p.waitOr(d, ok, nil)
	if !found {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before %s", p.name, p.cmd.ProcessState, what)
		default:
			p.t.Fatalf("%s: no %s within %s", p.name, what, d)
		}
	}
	return e
}

// waitOr returns the first event that ok accepts; found is false when the
// process exited, d passed, or stop fired first.
func (p *proc) waitOr(d time.Duration, ok func(map[string]any) bool, stop <-chan struct{}) (e map[string]any, found bool) {
	deadline := time.After(d)
	seen := 0
	scan := func() map[string]any {
		p.mu.Lock()
		defer p.mu.Unlock()
		for ; seen < len(p.events); seen++ {
			if ok(p.events[seen]) {
				return p.events[seen]
			}
		}
		return nil
	}
	for {
		if e := scan(); e != nil {
			return e, true
		}
		select {
		case <-p.done:
			// Every event was read before done closed.
			if e := scan(); e != nil {
				return e, true
			}
			return nil, false
		case <-p.more:
		case <-stop:
			return nil, false
		case <-deadline:
			return nil, false
		}
	}
}

// is matches an event by name and top-level fields.
func is(event string, kv ...string) func(map[string]any) bool {
	return func(e map[string]any) bool {
		if e["event"] != event {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(e[kv[i]]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// fileOf is the "file" object of a file event, or nil.
func fileOf(e map[string]any) map[string]any {
	if e["event"] != "file" {
		return nil
	}
	f, _ := e["file"].(map[string]any)
	return f
}

// fileBytes is the received or sent bytes of a file event.
func fileBytes(e map[string]any) int64 {
	n, _ := fileOf(e)["bytes"].(float64)
	return int64(n)
}

// quit ends the input (a host then says goodbye and exits) and waits.
func (p *proc) quit() {
	p.t.Helper()
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.t.Errorf("%s did not exit within a minute of the end of its input", p.name)
		p.kill()
	}
}

// exitCode waits up to d for the process to exit by itself.
func (p *proc) exitCode(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		p.t.Fatalf("%s did not exit within %s", p.name, d)
		return -1
	}
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// run runs one securechat command to its end: its stdout and exit code.
func run(t *testing.T, name, profile string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--profile", profile)...)
	cmd.Env = append(os.Environ(), envCLI+"=1", cli.EnvPassphrase+"=pass-"+name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	if code != 0 {
		t.Logf("%s %v: exit %d, stderr: %s", name, args, code, stderr.String())
	}
	return string(out), code
}

// runErr runs one securechat command to its end: its stderr and exit code.
func runErr(t *testing.T, name, profile string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--profile", profile)...)
	cmd.Env = append(os.Environ(), envCLI+"=1", cli.EnvPassphrase+"=pass-"+name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stderr.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return stderr.String(), 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// randomFile writes size random bytes to path and returns their SHA-256.
func randomFile(t *testing.T, path string, size int64, seed uint64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		b := buf[:min(int64(len(buf)), left)]
		_, _ = rng.Read(b)
		h.Write(b)
		_, err := f.Write(b)
		require.NoError(t, err)
		left -= int64(len(b))
	}
	require.NoError(t, f.Close())
	return [32]byte(h.Sum(nil))
}

// fileSHA256 hashes the file at path.
func fileSHA256(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return [32]byte(h.Sum(nil))
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
