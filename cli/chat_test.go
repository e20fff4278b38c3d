package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// terminal is one `securechat host|connect --json` run in-process, with
// its stdin to write lines to and its JSON events to read.
type terminal struct {
	t      *testing.T
	stdin  *io.PipeWriter
	mu     sync.Mutex
	events []map[string]any
	stderr strings.Builder
	exit   chan int
	more   chan struct{}
}

func startTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	term := &terminal{t: t, stdin: inW, exit: make(chan int, 1), more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				m = map[string]any{"event": "not json", "line": sc.Text()}
			}
			term.mu.Lock()
			term.events = append(term.events, m)
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		var errBuf syncWriter
		errBuf.w = &term.stderr
		errBuf.mu = &term.mu
		code := run(args, "test", inR, outW, &errBuf)
		outW.Close()
		term.exit <- code
	}()
	t.Cleanup(func() { inW.Close() })
	return term
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (term *terminal) say(line string) {
	_, err := io.WriteString(term.stdin, line+"\n")
	require.NoError(term.t, err)
}

// waitFor returns the first event named name whose fields match.
func (term *terminal) waitFor(name string, match map[string]any) map[string]any {
	term.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		term.mu.Lock()
		for _, e := range term.events {
			if e["event"] != name {
				continue
			}
			ok := true
			for k, v := range match {
				if e[k] != v {
					ok = false
				}
			}
			if ok {
				term.mu.Unlock()
				return e
			}
		}
		term.mu.Unlock()
		select {
		case <-term.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			term.mu.Lock()
			defer term.mu.Unlock()
			term.t.Fatalf("no %q event %v; events %v; stderr %s", name, match, term.events, term.stderr.String())
		}
	}
}

func (term *terminal) exitCode() int {
	term.t.Helper()
	select {
	case c := <-term.exit:
		return c
	case <-time.After(30 * time.Second):
		term.t.Fatal("the program did not exit")
		return -1
	}
}

func passFile(t *testing.T, pass string) string {
	p := filepath.Join(t.TempDir(), "pass")
	require.NoError(t, os.WriteFile(p, []byte(pass+"\n"), 0o600))
	return p
}

func TestChat_TwoTerminalsChatBothWaysAndHistoryFindsIt(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw-bob-secret"), newProfile(t, "alice", "pw-alice")
	host := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--profile", bobDir, "--passphrase-file", passFile(t, "pw-bob-secret"), "--json")
	addr := host.waitFor("listening", nil)["addr"].(string)

	conn := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", passFile(t, "pw-alice"))
	c := conn.waitFor("connected", nil)
	h := host.waitFor("connected", nil)
	assert.Equal(t, "bob", c["peer"])
	assert.Equal(t, "alice", h["peer"])
	assert.Equal(t, c["safety_number"], h["safety_number"])
	assert.Equal(t, "new", c["trust"], "a first contact is new")
	assert.Equal(t, "new", h["trust"])
	assert.Len(t, c["contact"], 64, "the contact id is the key's fingerprint")

	conn.say("hello from alice")
	got := host.waitFor("message", map[string]any{"text": "hello from alice"})
	assert.Equal(t, "alice", got["from"])
	conn.waitFor("delivered", map[string]any{"id": got["id"]})

	host.say("hello from bob")
	conn.waitFor("message", map[string]any{"text": "hello from bob", "from": "bob"})
	host.waitFor("delivered", nil)

	// End of input says goodbye and exits 0.
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	host.waitFor("disconnected", map[string]any{"reason": "partner_left", "contact": h["contact"]})
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())

	for _, side := range []struct{ dir, pass, partner string }{{bobDir, "pw-bob-secret", "alice"}, {aliceDir, "pw-alice", "bob"}} {
		pf := passFile(t, side.pass)
		code, out, errOut := runHistory(t, "list", "--json", "--profile", side.dir, "--passphrase-file", pf)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, `"partner":"`+side.partner+`"`)
		assert.Contains(t, out, `"messages":1`, "the message received; the one sent is in the outbox")
		code, out, errOut = runHistory(t, "search", "HELLO FROM", "--json", "--profile", side.dir, "--passphrase-file", pf)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, 2, strings.Count(out, "\n"), out)
		assert.Contains(t, out, "hello from alice")
		assert.Contains(t, out, "hello from bob")
	}
}

// meet runs a first chat between bob (host) and alice (connect) and returns
// bob's address; both are then each other's contacts.
func meet(t *testing.T, bobDir, aliceDir, pf string) string {
	host := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--profile", bobDir, "--passphrase-file", pf, "--json")
	addr := host.waitFor("listening", nil)["addr"].(string)
	conn := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	assert.Equal(t, "new", conn.waitFor("connected", nil)["trust"])
	require.NoError(t, conn.stdin.Close())
	require.Equal(t, 0, conn.exitCode())
	require.NoError(t, host.stdin.Close())
	require.Equal(t, 0, host.exitCode())
	return addr
}

func noConnected(t *testing.T, term *terminal) {
	term.mu.Lock()
	defer term.mu.Unlock()
	for _, e := range term.events {
		assert.NotEqual(t, "connected", e["event"])
	}
}

func TestChat_AContactIsKnownByItsKey(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)
	host := startTerminal(t, "host", "--listen", addr, "--profile", bobDir, "--passphrase-file", pf, "--json")
	host.waitFor("listening", nil)
	conn := startTerminal(t, "connect", "--contact", "bob", "--json", "--profile", aliceDir, "--passphrase-file", pf)
	c := conn.waitFor("connected", nil)
	assert.Equal(t, "known", c["trust"])
	assert.Equal(t, "bob", c["contact_name"])
	assert.Equal(t, "known", host.waitFor("connected", nil)["trust"])
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	require.NoError(t, host.stdin.Close())
}

func TestChat_ChangedKeyIsRefusedUnlessTrusted(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	impostorDir := newProfile(t, "bob", "pw secret")
	pf := passFile(t, "pw secret")
	addr := meet(t, bobDir, aliceDir, pf)

	// Someone else calling himself bob answers at bob's address next time.
	fake := startTerminal(t, "host", "--listen", addr, "--profile", impostorDir, "--passphrase-file", pf, "--json")
	fake.waitFor("listening", nil)
	conn := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	warn := conn.waitFor("error", nil)
	assert.Contains(t, warn["error"], "you dialed bob, but another identity key answered")
	assert.Contains(t, warn["error"], "Someone may be intercepting")
	assert.Equal(t, 1, conn.exitCode())
	noConnected(t, conn)

	// With --trust-new-key, alice knowingly accepts it.
	conn = startTerminal(t, "connect", addr, "--json", "--trust-new-key", "--profile", aliceDir, "--passphrase-file", pf)
	assert.Contains(t, conn.waitFor("error", nil)["error"], "Trusting the new key because of --trust-new-key")
	assert.Equal(t, "changed", conn.waitFor("connected", nil)["trust"])
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())

	// From then on the new key is alice's contact bob.
	conn = startTerminal(t, "connect", "--contact", "bob", "--json", "--profile", aliceDir, "--passphrase-file", pf)
	assert.Equal(t, "known", conn.waitFor("connected", nil)["trust"])
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	require.NoError(t, fake.stdin.Close())
}

func TestChat_ALookalikeNameIsRefusedUnlessAccepted(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	impostorDir := newProfile(t, "Bob", "pw secret")
	pf := passFile(t, "pw secret")
	meet(t, bobDir, aliceDir, pf)

	// "Bob" somewhere else: a new key whose name looks like alice's contact bob.
	fake := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--profile", impostorDir, "--passphrase-file", pf, "--json")
	addr := fake.waitFor("listening", nil)["addr"].(string)
	conn := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	warn := conn.waitFor("error", nil)
	assert.Contains(t, warn["error"], "This is not your contact bob")
	assert.Equal(t, "bob", warn["looks_like"])
	assert.Equal(t, 1, conn.exitCode())
	noConnected(t, conn)

	conn = startTerminal(t, "connect", addr, "--json", "--accept-lookalike", "--profile", aliceDir, "--passphrase-file", pf)
	assert.Equal(t, "new", conn.waitFor("connected", nil)["trust"])
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	require.NoError(t, fake.stdin.Close())
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func makeInvite(t *testing.T, dir, pf string, port int, extra ...string) string {
	var out, errOut strings.Builder
	args := append([]string{"invite", "--json", "--profile", dir, "--passphrase-file", pf, "--addr", "127.0.0.1", "--port", strconv.Itoa(port)}, extra...)
	require.Equal(t, 0, run(args, "test", strings.NewReader(""), &out, &errOut), errOut.String())
	var inv map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.String()), &inv))
	return inv["code"].(string)
}

func TestChat_InviteRoundTrip(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	port := freePort(t)
	code := makeInvite(t, bobDir, pf, port)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	host := startTerminal(t, "host", "--listen", addr, "--known-only", "--profile", bobDir, "--passphrase-file", pf, "--json")
	host.waitFor("listening", nil)
	conn := startTerminal(t, "connect", code, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	c := conn.waitFor("connected", nil)
	h := host.waitFor("connected", nil)
	assert.Equal(t, "invited", c["trust"])
	assert.Equal(t, "invited", h["trust"], "the inviter admits the invitee without asking, even with --known-only")
	assert.Equal(t, c["safety_number"], h["safety_number"])
	conn.say("hi, I got your invite")
	host.waitFor("message", map[string]any{"text": "hi, I got your invite"})
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())

	// The invite was for one person: a second use is refused.
	carolDir := newProfile(t, "carol", "pw secret")
	again := startTerminal(t, "connect", code, "--json", "--profile", carolDir, "--passphrase-file", pf)
	d := again.waitFor("disconnected", nil)
	assert.Equal(t, "invite_refused", d["reason"])
	assert.Contains(t, d["peer_reason"], "already used")
	assert.Equal(t, 1, again.exitCode())
	require.NoError(t, host.stdin.Close())
}

func TestChat_InviteRefusesAnotherKeyAndAnExpiredInvite(t *testing.T) {
	bobDir, aliceDir, malloryDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret"), newProfile(t, "bob", "pw secret")
	pf := passFile(t, "pw secret")
	port := freePort(t)
	code := makeInvite(t, bobDir, pf, port)

	// Mallory answers at the invite's address.
	fake := startTerminal(t, "host", "--listen", "127.0.0.1:"+strconv.Itoa(port), "--profile", malloryDir, "--passphrase-file", pf, "--json")
	fake.waitFor("listening", nil)
	conn := startTerminal(t, "connect", code, "--json", "--trust-new-key", "--accept-lookalike", "--profile", aliceDir, "--passphrase-file", pf)
	// Her SecureChat refuses the invite it does not know before revealing
	// its key (an attacker's would reveal it, and alice would refuse that
	// key as an interception: the session tests show that case).
	d := conn.waitFor("disconnected", nil)
	assert.Equal(t, "invite_refused", d["reason"])
	assert.Equal(t, 1, conn.exitCode())
	noConnected(t, conn)
	require.NoError(t, fake.stdin.Close())

	expired := makeInvite(t, bobDir, pf, port, "--expires", "1ms")
	time.Sleep(10 * time.Millisecond)
	var out, errOut strings.Builder
	assert.Equal(t, 1, run([]string{"connect", expired, "--profile", aliceDir, "--passphrase-file", pf}, "test", strings.NewReader(""), &out, &errOut))
	assert.Contains(t, errOut.String(), "expired")
}

func TestChat_KnownOnlyRefusesAStranger(t *testing.T) {
	bobDir, aliceDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret")
	pf := passFile(t, "pw secret")
	host := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--profile", bobDir, "--passphrase-file", pf, "--json", "--known-only")
	addr := host.waitFor("listening", nil)["addr"].(string)
	conn := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	host.waitFor("disconnected", map[string]any{"reason": "not_admitted"})
	d := conn.waitFor("disconnected", nil)
	assert.Equal(t, "not_admitted", d["reason"])
	noConnected(t, conn)
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())
}

func TestChat_PlaintextDemonstrationChatsAndRefusesSecurePeers(t *testing.T) {
	host := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--plaintext", "--json")
	addr := host.waitFor("listening", nil)["addr"].(string)
	conn := startTerminal(t, "connect", addr, "--plaintext", "--json")
	conn.waitFor("connected", nil)
	conn.say("in the clear")
	host.waitFor("message", map[string]any{"text": "in the clear"})
	require.NoError(t, conn.stdin.Close())
	assert.Equal(t, 0, conn.exitCode())
	assert.Contains(t, conn.stderr.String(), "UNENCRYPTED")

	aliceDir := newProfile(t, "alice", "pw secret")
	secure := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", passFile(t, "pw secret"))
	d := secure.waitFor("disconnected", nil)
	assert.Equal(t, "not_securechat", d["reason"])
	assert.Contains(t, d["peer_reason"], "plaintext")
	assert.Equal(t, 1, secure.exitCode())
	require.NoError(t, host.stdin.Close())
}

func TestChat_AHostChatsWithTwoPartnersAtOnce(t *testing.T) {
	pf := passFile(t, "pw secret")
	bobDir, aliceDir, carolDir := newProfile(t, "bob", "pw secret"), newProfile(t, "alice", "pw secret"), newProfile(t, "carol", "pw secret")
	host := startTerminal(t, "host", "--listen", "127.0.0.1:0", "--profile", bobDir, "--passphrase-file", pf, "--json")
	addr := host.waitFor("listening", nil)["addr"].(string)

	alice := startTerminal(t, "connect", addr, "--json", "--profile", aliceDir, "--passphrase-file", pf)
	alice.waitFor("connected", nil)
	a := host.waitFor("connected", map[string]any{"peer": "alice"})
	carol := startTerminal(t, "connect", addr, "--json", "--profile", carolDir, "--passphrase-file", pf)
	carol.waitFor("connected", nil)
	c := host.waitFor("connected", map[string]any{"peer": "carol"})

	// Typed text goes to the partner connected last; /to switches.
	host.say("hello carol")
	carol.waitFor("message", map[string]any{"text": "hello carol", "from": "bob"})
	host.say("/to alice")
	host.say("hello alice")
	alice.waitFor("message", map[string]any{"text": "hello alice", "from": "bob"})
	host.say("/who")
	who := host.waitFor("who", nil)
	assert.ElementsMatch(t, []any{"alice", "carol"}, who["partners"])
	assert.Equal(t, "alice", who["peer"])

	// Each partner's messages carry its name and contact.
	alice.say("from alice")
	carol.say("from carol")
	assert.Equal(t, a["contact"], host.waitFor("message", map[string]any{"text": "from alice"})["contact"])
	m := host.waitFor("message", map[string]any{"text": "from carol"})
	assert.Equal(t, c["contact"], m["contact"])
	assert.Equal(t, "carol", m["from"])

	// Alice leaves; carol goes on, and is now the current partner.
	require.NoError(t, alice.stdin.Close())
	assert.Equal(t, 0, alice.exitCode())
	host.waitFor("disconnected", map[string]any{"reason": "partner_left", "contact": a["contact"]})
	host.say("still here, carol")
	carol.waitFor("message", map[string]any{"text": "still here, carol"})
	carol.say("me too")
	host.waitFor("message", map[string]any{"text": "me too"})
	require.NoError(t, carol.stdin.Close())
	assert.Equal(t, 0, carol.exitCode())
	require.NoError(t, host.stdin.Close())
	assert.Equal(t, 0, host.exitCode())
}

func TestChat_UsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"connect"},
		{"connect", "a", "b"},
		{"connect", "host:0"},
		{"host", "extra"},
		{"host", "--no-such-flag"},
		{"frobnicate"},
		{"connect", "x", "--trust-new-key", "--known-only"},
		{"connect", "x", "--name", "Bob\u202e"},
		{"host", "--name", "   "},
	} {
		var out, errOut strings.Builder
		assert.Equal(t, 2, run(args, "test", strings.NewReader(""), &out, &errOut), "%v", args)
	}
	var out strings.Builder
	assert.Equal(t, 0, run([]string{"--version"}, "1.2.3", strings.NewReader(""), &out, io.Discard))
	assert.Equal(t, "securechat 1.2.3\n", out.String())
}
