package ui

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
)

// cheapKDF keeps the real vaults of these tests quick to create and open.
var cheapKDF = history.Params{Time: 1, MemoryKiB: 1024, Threads: 1}

// pumped is a real controller whose events reach the app only when the
// test pumps them, each handled before the test goes on: the test
// driver's fyne.Do runs on the calling goroutine, so this keeps the app's
// widgets on one goroutine at a time, as the real driver does.
type pumped struct {
	session.Controller
	out    chan session.Event
	mu     sync.Mutex
	queue  []session.Event
	more   chan struct{}
	closed sync.Once
}

func newPumped(c session.Controller) *pumped {
	p := &pumped{Controller: c, out: make(chan session.Event), more: make(chan struct{}, 1)}
	go func() {
		for ev := range c.Events() {
			p.mu.Lock()
			p.queue = append(p.queue, ev)
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	return p
}

func (p *pumped) Events() <-chan session.Event { return p.out }

// Close closes the real controller, then the app's event stream.
func (p *pumped) Close() error {
	err := p.Controller.Close()
	p.closed.Do(func() { close(p.out) })
	return err
}

// until hands the app its events, one at a time, until done reports true
// (checked between events, on the test's goroutine) or the time is up.
func (p *pumped) until(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		p.mu.Lock()
		var ev session.Event
		if len(p.queue) > 0 {
			ev, p.queue = p.queue[0], p.queue[1:]
		}
		p.mu.Unlock()
		if ev != nil {
			p.out <- ev
			p.out <- nil // taken once ev was handled
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		select {
		case <-p.more:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func contactOf(v *history.Vault, name string, addrs ...string) profile.Contact {
	id := v.Identity().Public()
	return profile.Contact{ID: id.Fingerprint(), Key: id.Bytes(), Name: name, TheirName: name, Addrs: addrs,
		FirstSeen: time.Now(), LastSeen: time.Now()}
}

// showThread selects contact in the list, as a click does.
func showThread(m *messenger, contact string) {
	for i, p := range m.order {
		if p.id == contact {
			m.list.Select(i)
		}
	}
}

// realApp is the desktop app on the test driver with the real vault and
// session: one run of it, from unlock to Shutdown.
type realApp struct {
	ui   *UI
	ctrl *pumped
}

func startRealApp(t *testing.T, dir string) *realApp {
	t.Helper()
	a := test.NewTempApp(t)
	w := a.NewWindow("SecureChat")
	r := &realApp{}
	b := RealBackend() // the real vault, in dir; the session with quick reconnects
	b.ProfileDir = func() (string, error) { return dir, nil }
	b.LocalAddrs = func() []string { return nil }
	b.New = func(v Vault, files Files) (session.Controller, error) {
		cfg := sessionConfig(v, files)
		cfg.ReconnectMin, cfg.ReconnectMax = 20*time.Millisecond, 200*time.Millisecond
		s, err := session.New(cfg)
		if err != nil {
			return nil, err
		}
		r.ctrl = newPumped(s)
		return r.ctrl, nil
	}
	r.ui = New(a, w, b, "")
	r.ui.async = func(fn func()) { fn() }
	r.ui.ticker = func() (<-chan time.Time, func()) { return nil, func() {} } // no countdown from another goroutine
	w.Resize(fyne.NewSize(820, 640))
	test.Type(r.ui.unlock.pass, "pass-alice")
	test.Tap(r.ui.unlock.button)
	require.NotNil(t, r.ui.main, "unlocked")
	t.Cleanup(r.ui.Shutdown)
	return r
}

// Done when (issue 11), through the app: write to an offline contact,
// restart the app, the contact comes online, the message arrives once and
// both sides show it delivered.
func TestReal_WriteToAnOfflineContactRestartItArrivesOnceDeliveredOnBothSides(t *testing.T) {
	dir := t.TempDir()
	aliceDir, bobDir := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	av, err := history.CreateWith(aliceDir, "alice", []byte("pass-alice"), cheapKDF)
	require.NoError(t, err)
	bv, err := history.CreateWith(bobDir, "bob", []byte("pass-bob"), cheapKDF)
	require.NoError(t, err)
	t.Cleanup(func() { _ = bv.Close() })
	bobAddr := freeAddr(t)
	require.NoError(t, av.SaveContact(contactOf(bv, "Bob", bobAddr)))
	require.NoError(t, bv.SaveContact(contactOf(av, "Alice")))
	bob, alice := bv.Identity().Public().Fingerprint(), av.Identity().Public().Fingerprint()
	require.NoError(t, av.Close())

	// Alice writes to Bob, who is offline.
	run1 := startRealApp(t, aliceDir)
	m := run1.ui.main
	run1.ctrl.until(t, "the contacts", func() bool { return m.peers[bob] != nil && m.peers[bob].listed })
	showThread(m, bob)
	require.Equal(t, bob, m.selected.id)
	require.False(t, m.input.Disabled(), "the input works while Bob is offline")
	test.Type(m.input, "while you were away")
	m.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	var id string
	run1.ctrl.until(t, "the message stored", func() bool {
		for _, r := range m.thread().rows {
			if r.outgoing && r.text == "while you were away" {
				id = r.id
				return true
			}
		}
		return false
	})
	assert.Contains(t, bubbleText(t, m.thread(), id), "will be sent when Bob is online")
	run1.ui.Shutdown()

	// The app starts again: the message still waits.
	run2 := startRealApp(t, aliceDir)
	m = run2.ui.main
	run2.ctrl.until(t, "the contacts", func() bool { return m.peers[bob] != nil && m.peers[bob].listed })
	showThread(m, bob)
	run2.ctrl.until(t, "the thread", func() bool { return m.thread() != nil && m.thread().byID[id] != nil })
	assert.Contains(t, bubbleText(t, m.thread(), id), "will be sent when Bob is online")

	// Bob comes online at the address Alice knows; he lets his contact in.
	b, err := session.Host(session.Config{Identity: bv.Identity(), Name: "bob", Store: bv}, bobAddr)
	require.NoError(t, err)
	var bmu sync.Mutex
	var shown []session.MessageEvent
	bdone := make(chan struct{})
	go func() {
		defer close(bdone)
		for ev := range b.Events() {
			switch e := ev.(type) {
			case session.Request:
				_ = b.Accept(e.Partner.Fingerprint)
			case session.MessageEvent:
				bmu.Lock()
				shown = append(shown, e)
				bmu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = b.Close()
		<-bdone
	})

	run2.ctrl.until(t, "delivered", func() bool { return m.thread().byID[id].status == statusDelivered })
	assert.Contains(t, bubbleText(t, m.thread(), id), "delivered")
	assert.Equal(t, 1, countRows(m.thread(), id), "one bubble")
	assert.Empty(t, run2.ui.vault.Outbox(""), "nothing waits")

	// A second message: once Bob has it, any resend of the first was seen.
	test.Type(m.input, "marker")
	m.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	run2.ctrl.until(t, "the marker delivered", func() bool {
		for _, r := range m.thread().rows {
			if r.text == "marker" && r.status == statusDelivered {
				return true
			}
		}
		return false
	})
	bmu.Lock()
	var got []string
	for _, e := range shown {
		if !e.Message.Outgoing {
			got = append(got, e.Message.Text)
		}
	}
	bmu.Unlock()
	assert.Equal(t, []string{"while you were away", "marker"}, got, "Bob is shown each message once")

	th, err := bv.Thread(alice)
	require.NoError(t, err)
	require.Len(t, th.Messages, 2)
	assert.Equal(t, id, th.Messages[0].ID)
	assert.Equal(t, history.StatusDelivered, th.Messages[0].Status, "delivered on Bob's side")
	th, err = run2.ui.vault.Thread(bob)
	require.NoError(t, err)
	require.Len(t, th.Messages, 2)
	assert.Equal(t, history.StatusDelivered, th.Messages[0].Status, "delivered on Alice's side")
}
