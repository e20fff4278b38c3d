package tor

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeControl is the tor side of a control connection: it answers the
// commands a real tor answers, the way control-spec.txt says, and lets a
// test change any answer or send events.
type fakeControl struct {
	t      testing.TB
	cookie []byte // the control cookie it checks

	// What it answers; tests set these before the connection starts.
	methods   string                                // PROTOCOLINFO's METHODS
	badHash   bool                                  // send a wrong SAFECOOKIE server hash
	info      map[string]string                     // GETINFO values
	serviceID func(line string) string              // ADD_ONION's ServiceID
	handle    func(f *fakeControl, cmd string) bool // answers a command first if it returns true

	mu       sync.Mutex
	conn     net.Conn
	cmds     []string // every command received, in order
	authLine string   // the AUTHENTICATE line SAFECOOKIE expects
	closed   chan struct{}
}

func newFakeControl(t testing.TB) *fakeControl {
	cookie := make([]byte, 32)
	_, _ = rand.Read(cookie)
	return &fakeControl{
		t:       t,
		cookie:  cookie,
		methods: "COOKIE,SAFECOOKIE",
		info: map[string]string{
			"status/bootstrap-phase": `NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY="Starting"`,
			"net/listeners/socks":    `"127.0.0.1:9"`,
		},
		closed: make(chan struct{}),
	}
}

// start serves conn in a goroutine.
func (f *fakeControl) start(conn net.Conn) {
	f.mu.Lock()
	f.conn = conn
	f.mu.Unlock()
	go f.serve(conn)
}

// serve answers on conn until it closes.
func (f *fakeControl) serve(conn net.Conn) {
	defer close(f.closed)
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		f.mu.Lock()
		f.cmds = append(f.cmds, cmd)
		f.mu.Unlock()
		f.mu.Lock()
		handle := f.handle
		f.mu.Unlock()
		if handle != nil && handle(f, cmd) {
			continue
		}
		if !f.answer(cmd) {
			return
		}
	}
}

// answer answers cmd as tor would; false ends the connection.
func (f *fakeControl) answer(cmd string) bool {
	kw, rest, _ := strings.Cut(cmd, " ")
	switch kw {
	case "PROTOCOLINFO":
		f.send("250-PROTOCOLINFO 1\r\n" +
			"250-AUTH METHODS=" + f.methods + ` COOKIEFILE="/nowhere/control_auth_cookie"` + "\r\n" +
			`250-VERSION Tor="0.4.9.11"` + "\r\n250 OK\r\n")
	case "AUTHCHALLENGE":
		nonceHex, _ := strings.CutPrefix(rest, "SAFECOOKIE ")
		clientNonce, err := hex.DecodeString(nonceHex)
		if err != nil {
			f.send("513 Invalid base16 client nonce\r\n")
			return false
		}
		serverNonce := make([]byte, 32)
		_, _ = rand.Read(serverNonce)
		mac := func(key string) []byte {
			m := hmac.New(sha256.New, []byte(key))
			m.Write(f.cookie)
			m.Write(clientNonce)
			m.Write(serverNonce)
			return m.Sum(nil)
		}
		serverHash := mac(safeCookieServerKey)
		if f.badHash {
			serverHash[0] ^= 1
		}
		f.mu.Lock()
		f.authLine = "AUTHENTICATE " + strings.ToUpper(hex.EncodeToString(mac(safeCookieClientKey)))
		f.mu.Unlock()
		f.send(fmt.Sprintf("250 AUTHCHALLENGE SERVERHASH=%X SERVERNONCE=%X\r\n", serverHash, serverNonce))
	case "AUTHENTICATE":
		f.mu.Lock()
		want := f.authLine
		f.mu.Unlock()
		switch {
		case want != "" && strings.EqualFold(cmd, want),
			want == "" && strings.Contains(f.methods, "COOKIE") && strings.EqualFold(rest, hex.EncodeToString(f.cookie)),
			f.methods == "NULL" && rest == "":
			f.send("250 OK\r\n")
		default:
			f.send("515 Authentication failed: Safe cookie response did not match expected value.\r\n")
			return false
		}
	case "TAKEOWNERSHIP", "SETEVENTS", "DEL_ONION":
		f.send("250 OK\r\n")
	case "GETINFO":
		var b strings.Builder
		for _, k := range strings.Fields(rest) {
			v, ok := f.info[k]
			if !ok {
				f.send(fmt.Sprintf("552 Unrecognized key %q\r\n", k))
				return true
			}
			fmt.Fprintf(&b, "250-%s=%s\r\n", k, v)
		}
		f.send(b.String() + "250 OK\r\n")
	case "ADD_ONION":
		id := "nope"
		f.mu.Lock()
		serviceID := f.serviceID
		f.mu.Unlock()
		if serviceID != nil {
			id = serviceID(cmd)
		}
		f.send("250-ServiceID=" + id + "\r\n250 OK\r\n")
	default:
		f.send(fmt.Sprintf("510 Unrecognized command %q\r\n", kw))
	}
	return true
}

// setHandle and setServiceID change answers while the connection runs.
func (f *fakeControl) setHandle(h func(f *fakeControl, cmd string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handle = h
}

func (f *fakeControl) setServiceID(s func(line string) string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serviceID = s
}

// send writes raw reply or event text.
func (f *fakeControl) send(s string) {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	_, _ = c.Write([]byte(s))
}

// commands are the commands received so far.
func (f *fakeControl) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// pipeControl connects a controlConn to f over net.Pipe, with the cookie
// in a file, and returns the conn and the cookie file's path.
func pipeControl(t *testing.T, f *fakeControl, onEvent func(*reply)) (*controlConn, string) {
	t.Helper()
	cookiePath := filepath.Join(t.TempDir(), "control_auth_cookie")
	require.NoError(t, os.WriteFile(cookiePath, f.cookie, 0o600))
	a, b := net.Pipe()
	f.start(b)
	c := newControlConn(a, onEvent)
	t.Cleanup(func() {
		c.close()
		<-c.done
		<-f.closed
	})
	return c, cookiePath
}

// fakeTorBinary is a fake tor for Start: a shell script that, like tor,
// writes its arguments, some log lines, and the control port file (pointing
// at a fakeControl), then runs until the file "alive" in the data directory
// is removed, which the test's fakeControl does when the control
// connection closes (the way TAKEOWNERSHIP makes tor exit).
type fakeTorBinary struct {
	path string
	dir  string // DataDir
	ctl  *fakeControl
	ln   net.Listener
}

// newFakeTor makes the data directory with the cookie, the fake control
// port, and the script. script replaces the script's body if not empty.
func newFakeTor(t *testing.T, script string) *fakeTorBinary {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake tor is a shell script")
	}
	base := t.TempDir()
	ft := &fakeTorBinary{dir: filepath.Join(base, "data dir"), ctl: newFakeControl(t)}
	require.NoError(t, os.MkdirAll(ft.dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(ft.dir, controlCookieKey), ft.ctl.cookie, 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ft.ln = ln
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		ft.ctl.mu.Lock()
		ft.ctl.conn = conn
		ft.ctl.mu.Unlock()
		ft.ctl.serve(conn)
		_ = os.Remove(filepath.Join(ft.dir, "alive"))
	}()
	t.Cleanup(func() {
		ln.Close()
		_ = os.Remove(filepath.Join(ft.dir, "alive"))
	})
	if script == "" {
		script = `echo "Nov 27 20:21:53.194 [notice] Tor 0.0.0 (fake) running"
touch "$d/alive"
printf 'PORT=%s\n' "$PORT" > "$d/control-port.tmp" && mv "$d/control-port.tmp" "$d/control-port"
while [ -e "$d/alive" ]; do sleep 0.02; done
echo "Nov 27 20:21:54.000 [notice] Owning controller connection has closed -- exiting now."
exit 0`
	}
	ft.path = filepath.Join(base, "tor")
	body := "#!/bin/sh\nPORT=" + ln.Addr().String() + "\nd=$(dirname \"$2\")\n" +
		"printf '%s\\n' \"$@\" > \"$d/args\"\n" + script + "\n"
	require.NoError(t, os.WriteFile(ft.path, []byte(body), 0o755))
	return ft
}

func (ft *fakeTorBinary) config() Config {
	return Config{Binary: ft.path, DataDir: ft.dir}
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, msg)
}
