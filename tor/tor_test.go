package tor

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func startFake(t *testing.T, ft *fakeTorBinary) *Tor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := Start(ctx, ft.config())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func TestStart_RunsTorWithItsOwnConfigAndOwnsIt(t *testing.T) {
	ft := newFakeTor(t, "")
	ft.ctl.info["net/listeners/socks"] = `"127.0.0.1:39050"`
	ft.ctl.info["status/bootstrap-phase"] = `NOTICE BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected to a relay"`
	var log bytes.Buffer
	cfg := ft.config()
	cfg.Log = &syncWriter{w: &log}
	cfg.OwnerPID = 4242
	cfg.Extra = []string{"UseBridges 1", "Bridge 127.0.0.1:1"}
	tr, err := Start(context.Background(), cfg)
	require.NoError(t, err)

	require.Equal(t, "127.0.0.1:39050", tr.SocksAddr())
	require.Equal(t, Progress{10, "conn_done", "Connected to a relay", ""}, tr.Progress())
	require.Positive(t, tr.PID())

	args, err := os.ReadFile(filepath.Join(ft.dir, "args"))
	require.NoError(t, err)
	require.Equal(t, "-f\n"+filepath.Join(ft.dir, "torrc")+"\n--defaults-torrc\n"+filepath.Join(ft.dir, "torrc-defaults")+"\n--ignore-missing-torrc\n", string(args))
	defaults, err := os.ReadFile(filepath.Join(ft.dir, "torrc-defaults"))
	require.NoError(t, err)
	require.Empty(t, defaults)
	torrc, err := os.ReadFile(filepath.Join(ft.dir, "torrc"))
	require.NoError(t, err)
	require.Equal(t, `DataDirectory "`+ft.dir+`"
ControlPort auto
ControlPortWriteToFile "`+filepath.Join(ft.dir, "control-port")+`"
CookieAuthentication 1
SocksPort auto ExtendedErrors
__OwningControllerProcess 4242
Log notice stdout
UseBridges 1
Bridge 127.0.0.1:1
`, string(torrc))

	require.Equal(t, []string{"PROTOCOLINFO 1", "AUTHCHALLENGE", "AUTHENTICATE", "TAKEOWNERSHIP",
		"SETEVENTS STATUS_CLIENT HS_DESC", "GETINFO status/bootstrap-phase net/listeners/socks"}, keywords(ft.ctl.commands()))

	// Closing the control connection makes (fake) tor exit.
	start := time.Now()
	require.NoError(t, tr.Close())
	require.Less(t, time.Since(start), 2*time.Second)
	<-tr.Done()
	require.ErrorIs(t, tr.Err(), ErrClosed)
	require.NoError(t, tr.Close(), "twice")
	require.Contains(t, log.String(), "Tor 0.0.0 (fake) running", "tor's output goes to Config.Log")
}

// keywords shortens AUTHCHALLENGE and AUTHENTICATE lines to their keyword.
func keywords(cmds []string) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		if strings.HasPrefix(c, "AUTH") {
			c, _, _ = strings.Cut(c, " ")
		}
		out[i] = c
	}
	return out
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func TestStart_BootstrapEventsReachProgressAndWatch(t *testing.T) {
	ft := newFakeTor(t, "")
	tr := startFake(t, ft)
	w := tr.Watch()
	require.Equal(t, Progress{0, "starting", "Starting", ""}, <-w, "the current progress first")

	ft.ctl.send(`650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay"` + "\r\n")
	require.Equal(t, Progress{5, "conn", "Connecting to a relay", ""}, <-w)
	require.Equal(t, 5, tr.Progress().Percent)

	ft.ctl.send(`650 STATUS_CLIENT WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=1 RECOMMENDATION=warn HOSTID="0000000000000000000000000000000000000000" HOSTADDR="127.0.0.1:1"` + "\r\n")
	require.Equal(t, Progress{5, "conn", "Connecting to a relay", "Connection refused"}, <-w)

	// Other status events and unknown events change nothing.
	ft.ctl.send("650 STATUS_CLIENT NOTICE ENOUGH_DIR_INFO\r\n650 NEWCONSENSUS\r\n650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=999\r\n")

	// A slow reader gets the latest only.
	ft.ctl.send(`650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=50 TAG=loading_descriptors SUMMARY="Loading relay descriptors"` + "\r\n" +
		`650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=75 TAG=enough_dirinfo SUMMARY="Loaded enough directory info to build circuits"` + "\r\n")
	eventually(t, func() bool { return tr.Progress().Percent == 75 }, "75%")
	require.Equal(t, 75, (<-w).Percent)
	select {
	case p := <-w:
		t.Fatalf("an old progress is still queued: %+v", p)
	default:
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := tr.WaitBootstrapped(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "75%")

	waited := make(chan error, 1)
	go func() { waited <- tr.WaitBootstrapped(context.Background()) }()
	ft.ctl.send(`650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"` + "\r\n")
	require.NoError(t, <-waited)
	require.Equal(t, Progress{100, "done", "Done", ""}, <-w)
	require.NoError(t, tr.WaitBootstrapped(context.Background()), "at once when done")

	require.NoError(t, tr.Close())
	_, open := <-w
	require.False(t, open, "Watch's channel is closed when tor stops")
	late := tr.Watch()
	p, open := <-late
	require.True(t, open)
	require.Equal(t, 100, p.Percent, "a late Watch gets the last progress, then the end")
	_, open = <-late
	require.False(t, open)
}

func TestAddOnion_PublishAndDelete(t *testing.T) {
	ft := newFakeTor(t, "")
	key := mustKey(t, rfc8032Seed)
	id := strings.TrimSuffix(rfc8032Address, ".onion")
	ft.ctl.serviceID = func(string) string { return id }
	tr := startFake(t, ft)

	addr, err := tr.AddOnion(context.Background(), key, 7000, "127.0.0.1:43210")
	require.NoError(t, err)
	require.Equal(t, rfc8032Address, addr)
	cmds := ft.ctl.commands()
	require.Equal(t, "ADD_ONION ED25519-V3:"+rfc8032Blob+" Flags=DiscardPK Port=7000,127.0.0.1:43210", cmds[len(cmds)-1])

	_, err = tr.AddOnion(context.Background(), key, 7000, "127.0.0.1:43210")
	require.ErrorContains(t, err, "already served")

	published := make(chan error, 1)
	go func() { published <- tr.WaitPublished(context.Background(), addr) }()
	ft.ctl.send("650 HS_DESC UPLOAD " + id + " UNKNOWN $AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~relay1 x HSDIR_INDEX=00\r\n")
	ft.ctl.send("650 HS_DESC UPLOADED " + strings.Repeat("a", 56) + " UNKNOWN $AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~relay1\r\n")
	select {
	case err := <-published:
		t.Fatalf("published too early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ft.ctl.send("650 HS_DESC UPLOADED " + id + " UNKNOWN $AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~relay1\r\n")
	require.NoError(t, <-published)
	require.NoError(t, tr.WaitPublished(context.Background(), id+".onion:7000"), "at once once published")

	require.NoError(t, tr.DelOnion(context.Background(), addr))
	cmds = ft.ctl.commands()
	require.Equal(t, "DEL_ONION "+id, cmds[len(cmds)-1])
	require.ErrorContains(t, tr.WaitPublished(context.Background(), addr), "not served")

	for _, bad := range []struct {
		port   int
		target string
	}{{0, "127.0.0.1:1"}, {65536, "127.0.0.1:1"}, {80, "192.168.1.2:80"}, {80, "localhost:80"}, {80, "127.0.0.1:0"}, {80, "127.0.0.1:80 Port=81"}, {80, "127.0.0.1"}} {
		_, err := tr.AddOnion(context.Background(), key, bad.port, bad.target)
		require.Error(t, err, "%d %q", bad.port, bad.target)
	}
}

func TestAddOnion_ServiceIDMismatchRefused(t *testing.T) {
	ft := newFakeTor(t, "")
	other := mustKey(t, strings.Repeat("ab", 32))
	otherID := strings.TrimSuffix(other.Address(), ".onion")
	ft.ctl.serviceID = func(string) string { return otherID }
	tr := startFake(t, ft)

	key := mustKey(t, rfc8032Seed)
	_, err := tr.AddOnion(context.Background(), key, 80, "127.0.0.1:8080")
	require.ErrorContains(t, err, "is not the key's")
	require.NotContains(t, err.Error(), rfc8032Blob)
	cmds := ft.ctl.commands()
	require.Equal(t, "DEL_ONION "+otherID, cmds[len(cmds)-1], "the service tor made by mistake is taken down")

	// Malformed ServiceIDs are refused too.
	for _, id := range []string{"", "nope", strings.Repeat("a", 56), otherID + " " + otherID} {
		ft.ctl.setServiceID(func(string) string { return id })
		_, err := tr.AddOnion(context.Background(), key, 80, "127.0.0.1:8080")
		require.ErrorIs(t, err, errMalformed, id)
	}
	ft.ctl.setHandle(func(f *fakeControl, cmd string) bool {
		if strings.HasPrefix(cmd, "ADD_ONION") {
			f.send("250-ServiceID=" + strings.TrimSuffix(rfc8032Address, ".onion") + "\r\n250-ServiceID=" + otherID + "\r\n250 OK\r\n")
			return true
		}
		return false
	})
	_, err = tr.AddOnion(context.Background(), key, 80, "127.0.0.1:8080")
	require.ErrorIs(t, err, errMalformed, "two ServiceIDs")
}

func TestAddOnion_CancelledRemovesWhatTorMayHaveAdded(t *testing.T) {
	ft := newFakeTor(t, "")
	id := strings.TrimSuffix(rfc8032Address, ".onion")
	release := make(chan struct{})
	ft.ctl.handle = func(f *fakeControl, cmd string) bool {
		if strings.HasPrefix(cmd, "ADD_ONION") {
			<-release
			f.send("250-ServiceID=" + id + "\r\n250 OK\r\n")
			return true
		}
		return false
	}
	tr := startFake(t, ft)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() { <-ctx.Done(); time.Sleep(20 * time.Millisecond); close(release) }()
	_, err := tr.AddOnion(ctx, mustKey(t, rfc8032Seed), 80, "127.0.0.1:8080")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	cmds := ft.ctl.commands()
	require.Equal(t, "DEL_ONION "+id, cmds[len(cmds)-1])

	ft.ctl.setHandle(nil)
	ft.ctl.setServiceID(func(string) string { return id })
	_, err = tr.AddOnion(context.Background(), mustKey(t, rfc8032Seed), 80, "127.0.0.1:8080")
	require.NoError(t, err, "a retry works")
}

func TestAddOnion_KeyNeverInErrors(t *testing.T) {
	ft := newFakeTor(t, "")
	ft.ctl.handle = func(f *fakeControl, cmd string) bool {
		if strings.HasPrefix(cmd, "ADD_ONION") {
			// A tor that quotes what it got.
			f.send("512 Bad arguments: " + strings.TrimPrefix(cmd, "ADD_ONION ") + "\r\n")
			return true
		}
		return false
	}
	tr := startFake(t, ft)
	_, err := tr.AddOnion(context.Background(), mustKey(t, rfc8032Seed), 80, "127.0.0.1:8080")
	var re *replyError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 512, re.Status)
	require.NotContains(t, err.Error(), rfc8032Blob)
	require.NotContains(t, err.Error(), rfc8032Seed)
	require.Contains(t, err.Error(), "[key]")
}

func TestStart_TorThatExitsQuotesItsLastWords(t *testing.T) {
	ft := newFakeTor(t, `echo "Nov 27 20:24:18.174 [notice] Tor 0.4.9.11 running on Linux"
for i in 1 2 3; do echo "Nov 27 20:24:18.174 [notice] Read configuration file $i"; done
echo "Nov 27 20:24:18.176 [notice] DisableNetwork is set."
echo "Nov 27 20:24:18.176 [warn] /data is not owned by this user (alice, 1000) but by root (0). Perhaps you are running Tor as the wrong user?"
echo "Nov 27 20:24:18.176 [warn] Failed to parse/validate config: Couldn't create private data directory \"/data\""
echo "Nov 27 20:24:18.176 [err] Reading config failed--see warnings above." >&2
exit 1`)
	start := time.Now()
	_, err := Start(context.Background(), ft.config())
	require.Error(t, err)
	require.Less(t, time.Since(start), 3*time.Second)
	msg := err.Error()
	require.Contains(t, msg, "exited during start")
	require.Contains(t, msg, "exit status 1")
	require.Contains(t, msg, "[warn] /data is not owned by this user")
	require.Contains(t, msg, "Couldn't create private data directory")
	require.Contains(t, msg, "[err] Reading config failed", "stderr is quoted too")
	require.NotContains(t, msg, "Nov 27", "without time stamps")
	require.Contains(t, msg, "[notice] DisableNetwork is set. / [warn]")
	require.NotContains(t, msg, "[notice] Tor 0.4.9.11", "only the last lines")
}

func TestStart_TorThatSaysNothingUsefulIsQuotedAnyway(t *testing.T) {
	ft := newFakeTor(t, `echo "Nov 27 20:24:18.174 [notice] Tor 0.4.9.11 running"
kill -9 $$`)
	_, err := Start(context.Background(), ft.config())
	require.ErrorContains(t, err, "signal: killed")
	require.ErrorContains(t, err, "[notice] Tor 0.4.9.11 running")
}

func TestStart_ContextEndsTheStart(t *testing.T) {
	ft := newFakeTor(t, `echo "Nov 27 20:21:53.194 [notice] Bootstrapped 0% (starting): Starting"
exec sleep 30`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Start(ctx, ft.config())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "Bootstrapped 0%")
	require.Less(t, time.Since(start), 2*time.Second, "the process is killed, not waited for")
}

func TestStart_RefusesAnImpostorControlPort(t *testing.T) {
	ft := newFakeTor(t, "")
	ft.ctl.badHash = true
	_, err := Start(context.Background(), ft.config())
	require.ErrorIs(t, err, errServerHash)
	require.NotContains(t, err.Error(), hex.EncodeToString(ft.ctl.cookie))
}

func TestStart_NoSocksPort(t *testing.T) {
	ft := newFakeTor(t, "")
	ft.ctl.info["net/listeners/socks"] = ""
	_, err := Start(context.Background(), ft.config())
	require.ErrorContains(t, err, "opened no SOCKS port")
}

func TestStart_ConfigChecked(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{DataDir: t.TempDir()},
		{Binary: "/bin/true"},
		{Binary: "/bin/true", DataDir: t.TempDir(), OwnerPID: -1},
		{Binary: "/bin/true", DataDir: t.TempDir(), Extra: []string{"Log debug stdout\nSocksPort 9050"}},
		{Binary: "/bin/true", DataDir: filepath.Join(t.TempDir(), "a\nSocksPort 9050")},
	} {
		_, err := Start(ctx, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	_, err := Start(ctx, Config{Binary: filepath.Join(t.TempDir(), "missing"), DataDir: t.TempDir()})
	require.ErrorContains(t, err, "failed to run")
}

func TestTor_CrashAfterStartIsReported(t *testing.T) {
	ft := newFakeTor(t, `touch "$d/alive"
printf 'PORT=%s\n' "$PORT" > "$d/control-port"
while [ -e "$d/alive" ] && [ ! -e "$d/crash" ]; do sleep 0.02; done
echo "Nov 27 20:30:00.000 [err] tor_assertion_failed_(): Bug: something broke"
exit 3`)
	tr := startFake(t, ft)
	w := tr.Watch()
	<-w
	require.NoError(t, os.WriteFile(filepath.Join(ft.dir, "crash"), nil, 0o600))
	select {
	case <-tr.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done was not closed")
	}
	err := tr.Err()
	require.ErrorContains(t, err, "exit status 3")
	require.ErrorContains(t, err, "Bug: something broke")
	_, open := <-w
	require.False(t, open)
	require.Error(t, tr.WaitBootstrapped(context.Background()))
	_, err = tr.Dial(context.Background(), "example.com:80")
	require.ErrorContains(t, err, "not running")
	_, err = tr.AddOnion(context.Background(), mustKey(t, rfc8032Seed), 80, "127.0.0.1:80")
	require.Error(t, err)
	require.NoError(t, tr.Close(), "Close after a crash")
	require.ErrorContains(t, tr.Err(), "exit status 3", "Close does not hide the crash")
}

func TestTor_MalformedReplyAfterStartStopsTor(t *testing.T) {
	ft := newFakeTor(t, "")
	tr := startFake(t, ft)
	ft.ctl.send("250 nobody asked\r\n")
	select {
	case <-tr.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done was not closed")
	}
	require.ErrorIs(t, tr.Err(), errMalformed)
	require.ErrorContains(t, tr.Err(), "exit status 0")
}

func TestTor_CloseKillsATorThatDoesNotExit(t *testing.T) {
	defer func(d time.Duration) { killAfter = d }(killAfter)
	killAfter = 300 * time.Millisecond
	ft := newFakeTor(t, `touch "$d/alive"
printf 'PORT=%s\n' "$PORT" > "$d/control-port"
exec sleep 60`)
	tr := startFake(t, ft)
	start := time.Now()
	err := tr.Close()
	require.ErrorContains(t, err, "killed")
	require.InDelta(t, killAfter.Seconds(), time.Since(start).Seconds(), 0.5)
	require.ErrorIs(t, tr.Err(), ErrClosed)
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tor")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o644))
	noPath := func(string) (string, error) { return "", errors.New("not on PATH") }
	onPath := func(name string) (string, error) { return "/on/path/" + name, nil }

	got, err := find(exe, onPath, nil)
	require.NoError(t, err)
	require.Equal(t, exe, got, "an explicit path first")

	_, err = find(filepath.Join(dir, "missing"), onPath, nil)
	require.ErrorIs(t, err, ErrNotFound, "an explicit path must exist")
	if isExecutable(mustStat(t, plain)) == false {
		_, err = find(plain, onPath, nil)
		require.ErrorIs(t, err, ErrNotFound, "an explicit path must be executable")
	}
	_, err = find(dir, onPath, nil)
	require.ErrorIs(t, err, ErrNotFound, "a directory is no program")

	got, err = find("", onPath, []string{exe})
	require.NoError(t, err)
	require.Equal(t, "/on/path/"+exeName, got, "PATH before the usual places")

	got, err = find("", noPath, []string{filepath.Join(dir, "missing"), dir, plain, exe})
	require.NoError(t, err)
	require.Equal(t, exe, got, "the first usual place that has a program")

	_, err = find("", noPath, []string{filepath.Join(dir, "missing")})
	require.ErrorIs(t, err, ErrNotFound)
	require.NotEmpty(t, usualPlaces())
}

func mustStat(t *testing.T, p string) os.FileInfo {
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi
}

func TestParsePortFile(t *testing.T) {
	for in, want := range map[string]string{
		"PORT=127.0.0.1:9051\n":                   "127.0.0.1:9051",
		"PORT=127.0.0.1:9051\r\n":                 "127.0.0.1:9051",
		"PORT=127.0.0.1:9":                        "", // not written in full yet
		"PORT=10.0.0.1:9051\nPORT=[::1]:9051\n":   "[::1]:9051",
		"UNIX_PORT=/run/x\nPORT=127.0.0.1:9051\n": "127.0.0.1:9051",
		"PORT=127.0.0.1:0\n":                      "",
		"PORT=localhost:9051\n":                   "",
		"":                                        "",
	} {
		require.Equal(t, want, parsePortFile([]byte(in)), "%q", in)
	}
	require.Equal(t, `"C:\\Tor data\\x \"y\""`, quoteConf(`C:\Tor data\x "y"`))
}
