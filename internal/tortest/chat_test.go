//go:build tor

package tortest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/cli"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/internal/tornet"
	"github.com/securechat/securechat/tormode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envCLI makes this test binary run the securechat command line instead.
const envCLI = "SECURECHAT_TORTEST_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envCLI) == "1" {
		os.Exit(cli.Main(os.Args[1:], "tortest"))
	}
	os.Exit(m.Run())
}

var cheap = history.Params{Time: 1, MemoryKiB: 64, Threads: 1}

// proc is one securechat command running with its events on stdout.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	events []map[string]any
	lines  []string
	cond   chan struct{}
	done   chan struct{}
}

func start(t *testing.T, name, profile string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--profile", profile)...)
	cmd.Env = append(os.Environ(), append(env, envCLI+"=1", cli.EnvPassphrase+"=pass-"+name)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, cond: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var e map[string]any
			_ = json.Unmarshal([]byte(line), &e)
			p.mu.Lock()
			p.lines = append(p.lines, line)
			if e != nil {
				p.events = append(p.events, e)
			}
			p.mu.Unlock()
			t.Logf("%s %s: %s", time.Now().Format("15:04:05.000"), name, line)
			select {
			case p.cond <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Logf("%s stderr: %s", name, s)
		}
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// wait returns the first event that matches, within d.
func (p *proc) wait(d time.Duration, what string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.After(d)
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.events); seen++ {
			if ok(p.events[seen]) {
				e := p.events[seen]
				p.mu.Unlock()
				return e
			}
		}
		p.mu.Unlock()
		select {
		case <-p.cond:
		case <-p.done:
			p.mu.Lock()
			for ; seen < len(p.events); seen++ {
				if ok(p.events[seen]) {
					e := p.events[seen]
					p.mu.Unlock()
					return e
				}
			}
			p.mu.Unlock()
			p.t.Fatalf("%s exited before %s", p.name, what)
		case <-deadline:
			p.t.Fatalf("%s: no %s within %s", p.name, what, d)
		}
	}
}

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

func (p *proc) say(line string) {
	_, err := io.WriteString(p.stdin, line+"\n")
	require.NoError(p.t, err)
}

// quit ends the input and waits for the process to say goodbye and exit.
func (p *proc) quit() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Errorf("%s did not exit within 60 s of the end of its input", p.name)
		p.kill()
	}
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run runs one securechat command to its end and returns its output.
func run(t *testing.T, name, profile string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--profile", profile)...)
	cmd.Env = append(os.Environ(), append(env, envCLI+"=1", cli.EnvPassphrase+"=pass-"+name)...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		t.Logf("%s %v: exit %d, stderr: %s", name, args, code, ee.Stderr)
	} else {
		require.NoError(t, err)
	}
	return string(out), code
}

// TestTor_TwoAppsChatThroughOnionServices is the done-when: first
// contact with an invite, messages both ways, both histories, and a
// reconnect after one side restarts, all through onion services of a
// private Tor network, with no direct connection between the two.
func TestTor_TwoAppsChatThroughOnionServices(t *testing.T) {
	begin := time.Now()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tn, err := tornet.Start(ctx, filepath.Join(dir, "net"), tornet.Options{})
	require.NoError(t, err)
	defer tn.Close()
	t.Logf("private Tor network up in %s", time.Since(begin).Round(time.Millisecond))
	// Each app's tor also logs to a file of the test's, so that a failure
	// shows what every tor was doing.
	logs := filepath.Join(dir, "logs")
	require.NoError(t, os.Mkdir(logs, 0o700))
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, filepath.Join(dir, "net"), logs)
		}
	})
	envFor := func(name string) []string {
		extra := filepath.Join(dir, "torrc-extra-"+name)
		lines := append(append([]string{}, tn.Torrc...), "Log info file "+filepath.Join(logs, name+"-tor.log"))
		require.NoError(t, os.WriteFile(extra, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
		return []string{tormode.EnvExtraTorrc + "=" + extra}
	}
	aliceEnv, bobEnv := envFor("alice"), envFor("bob")

	capture := startCapture(t, dir)

	alice, bob := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	for name, d := range map[string]string{"alice": alice, "bob": bob} {
		v, err := history.CreateWith(d, name, []byte("pass-"+name), cheap)
		require.NoError(t, err)
		require.NoError(t, v.Close())
	}
	port := freePort(t)

	// Alice invites Bob with her onion address only, and listens.
	out, code := run(t, "alice", alice, aliceEnv, "invite", "--tor-only", "--port", strconv.Itoa(port), "--json")
	require.Zero(t, code)
	var inv struct {
		Code  string   `json:"code"`
		Addrs []string `json:"addrs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &inv))
	require.Len(t, inv.Addrs, 1)
	require.True(t, strings.HasSuffix(inv.Addrs[0], ".onion:"+strconv.Itoa(port)), "the invite carries only the onion address: %v", inv.Addrs)
	onion := inv.Addrs[0]

	a := start(t, "alice", alice, aliceEnv, "host", "--tor-only", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--json")
	a.wait(3*time.Minute, "reachable through Tor", is("tor", "reason", "reachable", "addr", onion))
	t.Logf("alice reachable at her onion address %s after %s", onion, time.Since(begin).Round(time.Millisecond))

	// Bob connects with the invite, through his own tor.
	b := start(t, "bob", bob, bobEnv, "connect", inv.Code, "--tor-only", "--json")
	b.wait(3*time.Minute, "connected", is("connected"))
	a.wait(time.Minute, "connected", is("connected"))
	t.Logf("connected through Tor after %s", time.Since(begin).Round(time.Millisecond))
	b.say("hello alice, through tor")
	a.wait(time.Minute, "bob's message", is("message", "text", "hello alice, through tor"))
	a.say("hello bob, through tor")
	b.wait(time.Minute, "alice's message", is("message", "text", "hello bob, through tor"))
	b.wait(time.Minute, "delivered", is("delivered"))
	b.quit()
	a.wait(time.Minute, "bob leaving", is("disconnected"))

	// Alice restarts; Bob's message reaches her at her (unchanged) onion
	// address, the one his profile keeps for her.
	a.quit()
	a = start(t, "alice", alice, aliceEnv, "host", "--tor-only", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--json")
	a.wait(3*time.Minute, "reachable again", is("tor", "reason", "reachable", "addr", onion))
	out, code = run(t, "bob", bob, bobEnv, "send", "alice", "after alice restarted", "--tor-only", "--wait", "3m", "--json")
	assert.Equal(t, cli.SendDelivered, code, "delivered: %s", out)
	a.wait(time.Minute, "the message after the restart", is("message", "text", "after alice restarted"))
	a.quit()
	t.Logf("reconnected after a restart; %s in all", time.Since(begin).Round(time.Millisecond))

	// Both histories hold every message once.
	for name, d := range map[string]string{"alice": alice, "bob": bob} {
		v, err := history.Open(d, []byte("pass-"+name))
		require.NoError(t, err)
		for _, text := range []string{"hello alice, through tor", "hello bob, through tor", "after alice restarted"} {
			hits, err := v.Search(text)
			require.NoError(t, err)
			assert.Len(t, hits, 1, "%s's history holds %q once", name, text)
		}
		checkOnionKeyNotOnDisk(t, v, d)
		require.NoError(t, v.Close())
	}

	capture.check(t, port)
}

// checkOnionKeyNotOnDisk: the onion service's key is in no file of the
// profile folder (tor's data directory included) in any form.
func checkOnionKeyNotOnDisk(t *testing.T, v *history.Vault, dir string) {
	seed, err := v.OnionKey()
	require.NoError(t, err)
	forms := [][]byte{seed, []byte(hex.EncodeToString(seed)), []byte(base64.StdEncoding.EncodeToString(seed)),
		[]byte(base64.RawStdEncoding.EncodeToString(seed))}
	expanded := expandedKey(seed)
	forms = append(forms, expanded, []byte(base64.StdEncoding.EncodeToString(expanded)))
	files := 0
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // a socket or a file tor removed meanwhile
		}
		files++
		for _, f := range forms {
			assert.False(t, bytes.Contains(b, f), "%s holds the onion key", path)
		}
		return nil
	}))
	assert.NotZero(t, files)
	_, err = os.Stat(filepath.Join(dir, tormode.DataDirName))
	assert.NoError(t, err, "tor's data directory is inside the profile folder")
}

// dumpLogs prints the last lines of every tor's log (the network's in
// netDir, the apps' in appDir) for a failed test.
func dumpLogs(t *testing.T, dirs ...string) {
	const keep = 60
	for _, d := range dirs {
		names, _ := filepath.Glob(filepath.Join(d, "*.log"))
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Logf("%s: %v", name, err)
				continue
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(lines) > keep {
				lines = lines[len(lines)-keep:]
			}
			t.Logf("the last %d lines of %s:\n%s", len(lines), filepath.Base(name), strings.Join(lines, "\n"))
		}
	}
}
