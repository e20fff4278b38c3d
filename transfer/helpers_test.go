package transfer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/filexfer"
)

// The contacts of the tests: alice's engine knows bob, bob's knows alice.
const (
	alice = "alice-fingerprint"
	bob   = "bob-fingerprint"
)

// testKey is the store key of every engine of the tests.
var testKey = bytes.Repeat([]byte{7}, 32)

// openEngine opens an engine on dir, closed at the end of the test.
func openEngine(t *testing.T, dir string, o ...func(*Options)) *Engine {
	t.Helper()
	opts := Options{Dir: dir, Key: testKey}
	for _, f := range o {
		f(&opts)
	}
	e, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// pipeLink is one side of an in-memory connection: what is sent on it is
// marshalled, parsed, and handed in order by one goroutine to the other
// engine's Handle, as arriving on the other side's link.
type pipeLink struct {
	to     *Engine
	from   string // the contact the receiving engine knows us as
	peer   *pipeLink
	filter func(m filexfer.Message) filexfer.Message // may change or drop (nil) what is sent
	chunks atomic.Int64                              // chunk bytes sent

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []filexfer.Message
	closed bool
	done   chan struct{}
}

func (l *pipeLink) Send(m filexfer.Message) error { return l.put(m) }
func (l *pipeLink) SendChunk(c filexfer.Chunk) error {
	l.chunks.Add(int64(len(c.Data)))
	return l.put(c)
}

func (l *pipeLink) put(m filexfer.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return io.ErrClosedPipe
	}
	l.queue = append(l.queue, m)
	l.cond.Signal()
	return nil
}

func (l *pipeLink) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closed {
			l.cond.Wait()
		}
		if l.closed {
			l.mu.Unlock()
			return
		}
		m := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		filter := l.filter
		l.mu.Unlock()
		if filter != nil {
			if m = filter(m); m == nil {
				continue
			}
		}
		b, err := m.Marshal()
		if err != nil {
			panic(err)
		}
		parsed, err := filexfer.Parse(b)
		if err != nil {
			panic(err)
		}
		l.to.Handle(l.from, l.peer, parsed)
	}
}

func (l *pipeLink) setFilter(f func(filexfer.Message) filexfer.Message) {
	l.mu.Lock()
	l.filter = f
	l.mu.Unlock()
}

func (l *pipeLink) close() {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
}

func newPipeLink(to *Engine, from string) *pipeLink {
	l := &pipeLink{to: to, from: from, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// conn is a connection between alice's engine and bob's.
type conn struct {
	a, b   *Engine
	ab, ba *pipeLink // ab: alice's link, carries alice → bob
}

// connect connects alice's engine a with bob's engine b; the connection
// is cut at the end of the test.
func connect(t *testing.T, a, b *Engine) *conn {
	ab := newPipeLink(b, alice)
	ba := newPipeLink(a, bob)
	ab.peer, ba.peer = ba, ab
	c := &conn{a: a, b: b, ab: ab, ba: ba}
	// Both sides know the link before anything arrives on it, as the
	// session calls Connected before it hands the engine a message.
	a.Connected(bob, ab)
	b.Connected(alice, ba)
	go ab.run()
	go ba.run()
	t.Cleanup(c.cut)
	return c
}

// cut ends the connection: both engines are told.
func (c *conn) cut() {
	if c.ab.isClosed() {
		return
	}
	c.a.Disconnected(bob, c.ab)
	c.b.Disconnected(alice, c.ba)
	c.ab.close()
	c.ba.close()
}

func (l *pipeLink) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// waitFor waits until transfer id of contact at e satisfies ok.
func waitFor(t *testing.T, e *Engine, contact, id string, what string, ok func(Transfer) bool) Transfer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tr, found := e.Get(contact, id)
		if found && ok(tr) {
			return tr
		}
		if time.Now().After(deadline) {
			require.Failf(t, "timed out", "waiting for %s of %s: %+v (found %v)", what, id, tr, found)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitState(t *testing.T, e *Engine, contact, id string, s State) Transfer {
	t.Helper()
	return waitFor(t, e, contact, id, s.String(), func(tr Transfer) bool { return tr.State == s })
}

// waitIncoming waits for bob's engine to show an offer from alice, and
// returns it.
func waitIncoming(t *testing.T, e *Engine, contact string) Transfer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, tr := range e.List(contact) {
			if !tr.Outgoing {
				return tr
			}
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "no incoming transfer")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// randomFile writes n random bytes to a file in dir and returns its path
// and contents.
func randomFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p, b
}

// contents reads a transfer's plaintext through Open.
func contents(t *testing.T, e *Engine, contact, id string) []byte {
	t.Helper()
	r, err := e.Open(contact, id)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

// storeFiles lists the files of the store folder (not the journal).
func storeFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() {
			out = append(out, de.Name())
		}
	}
	return out
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }
