package session

import (
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialCounter counts the reconnect loop's dials of a session, which it
// still makes.
type dialCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *dialCounter) count(contact string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[contact]
}

// pausePair: alice and bob listen, each a contact of the other at its
// address, both reconnect loops on, connected once. The backoff starts at
// a minute, so that a dial within a test's waits is never the backoff's.
type pausePair struct {
	a, b         *peer
	alice, bob   string // fingerprints
	aDial, bDial *dialCounter
}

func newPausePair(t *testing.T) *pausePair {
	t.Helper()
	as, bs := newMemStore(), newMemStore()
	cfg := func(name string, st *memStore) Config {
		c := testConfig(name, st)
		c.ReconnectMin, c.ReconnectMax = time.Minute, 5*time.Minute
		return c
	}
	start := func(name string, st *memStore) (*peer, *dialCounter) {
		s, err := Host(cfg(name, st), "127.0.0.1:0")
		require.NoError(t, err)
		d := &dialCounter{n: map[string]int{}}
		s.redial.dial = func(c history.Contact) {
			d.mu.Lock()
			d.n[c.ID]++
			d.mu.Unlock()
			s.dialContact(c)
		}
		return watch(t, s, st, true), d
	}
	a, aDial := start("alice", as)
	b, bDial := start("bob", bs)
	p := &pausePair{a: a, b: b, alice: fingerprint("alice"), bob: fingerprint("bob"), aDial: aDial, bDial: bDial}
	require.NoError(t, as.SaveContact(contactOf("bob", hostAddr(t, b))))
	require.NoError(t, bs.SaveContact(contactOf("alice", hostAddr(t, a))))
	// Alice's loop makes the link; bob's is on once it is there (no
	// simultaneous dial to settle).
	a.s.SetAutoReconnect(true)
	waitFor(a, func(e Connected) bool { return e.Partner.Fingerprint == p.bob })
	waitFor(b, func(e Connected) bool { return e.Partner.Fingerprint == p.alice })
	b.s.SetAutoReconnect(true)
	require.Equal(t, 1, aDial.count(p.bob))
	return p
}

// disconnect: alice says goodbye to bob; both sides end the link and
// pause.
func (p *pausePair) disconnect(t *testing.T) {
	t.Helper()
	require.NoError(t, p.a.s.Disconnect(p.bob))
	waitFor(p.a, func(e Ended) bool { return e.Contact == p.bob && e.Reason == EndWeLeft })
	waitFor(p.b, func(e Ended) bool { return e.Contact == p.alice && e.Reason == EndPartnerLeft })
	waitFor(p.a, func(e ReconnectPaused) bool { return e.Contact == p.bob })
	waitFor(p.b, func(e ReconnectPaused) bool { return e.Contact == p.alice })
	require.True(t, p.a.s.redial.isPaused(p.bob))
	require.True(t, p.b.s.redial.isPaused(p.alice))
}

func reconnectingFor(p *peer, contact string) int {
	n := 0
	for _, e := range eventsOf[Reconnecting](p) {
		if e.Contact == contact {
			n++
		}
	}
	return n
}

func TestPause_DisconnectStopsTheReconnectsOfBothSidesForAsLongAsItTakes(t *testing.T) {
	p := newPausePair(t)
	p.disconnect(t)
	aDials, bDials := p.aDial.count(p.bob), p.bDial.count(p.alice)
	aRec, bRec := reconnectingFor(p.a, p.bob), reconnectingFor(p.b, p.alice)

	// A day of the loop, on an injected clock, a tick a minute (the
	// backoff is one to five minutes), with the network coming back now
	// and then and the loop turned on again.
	now := time.Now()
	for i := range 24 * 60 {
		now = now.Add(time.Minute)
		if i%100 == 0 {
			p.a.s.redial.resetAll()
			p.b.s.SetAutoReconnect(true)
		}
		p.a.s.redial.tick(now, p.a.store.Contacts(), p.a.s.busyWith)
		p.b.s.redial.tick(now, p.b.store.Contacts(), p.b.s.busyWith)
	}
	assert.Equal(t, aDials, p.aDial.count(p.bob), "we disconnected: we do not call back")
	assert.Equal(t, bDials, p.bDial.count(p.alice), "the partner disconnected: it is not called back")
	assert.Equal(t, aRec, reconnectingFor(p.a, p.bob), "no Reconnecting while paused")
	assert.Equal(t, bRec, reconnectingFor(p.b, p.alice), "no Reconnecting while paused")
	assert.Len(t, eventsOf[ReconnectPaused](p.a), 1)
	assert.Len(t, eventsOf[ReconnectPaused](p.b), 1)
	_, aLink := liveLinks(p.a.s, p.bob)
	_, bLink := liveLinks(p.b.s, p.alice)
	assert.Nil(t, aLink)
	assert.Nil(t, bLink)
}

func TestPause_SendToAPausedContactDialsAtOnceAndDelivers(t *testing.T) {
	p := newPausePair(t)
	p.disconnect(t)
	dials := p.aDial.count(p.bob)
	connected := len(eventsOf[Connected](p.a))

	id, err := p.a.s.Send(p.bob, "after all")
	require.NoError(t, err)
	// The backoff is a minute or more: only the pause's end dials within
	// the 20 s waitFor allows.
	waitFor(p.a, func(e Delivered) bool { return e.ID == id })
	got := waitFor(p.b, func(e MessageEvent) bool { return !e.Message.Outgoing })
	assert.Equal(t, "after all", got.Message.Text)
	assert.Equal(t, dials+1, p.aDial.count(p.bob), "dialed once, by the loop, at once")
	assert.Len(t, eventsOf[Connected](p.a), connected+1)
	assert.False(t, p.a.s.redial.isPaused(p.bob))
	assert.False(t, p.b.s.redial.isPaused(p.alice), "the partner accepted our link: resumed too")
}

func TestPause_AnIncomingLinkFromAPausedContactIsAcceptedAndResumes(t *testing.T) {
	p := newPausePair(t)
	p.disconnect(t)
	aDials := p.aDial.count(p.bob)
	connected := len(eventsOf[Connected](p.a))

	// Bob reaches out ("try now"); alice, paused, accepts as usual.
	require.NoError(t, p.b.s.ReconnectNow(p.alice))
	assert.False(t, p.b.s.redial.isPaused(p.alice), "ReconnectNow ends the pause")
	waitFor(p.b, func(e Connected) bool { return e.Partner.Fingerprint == p.alice })
	require.Eventually(t, func() bool { return len(eventsOf[Connected](p.a)) == connected+1 }, 20*time.Second, 10*time.Millisecond)
	in := waitFor(p.a, func(e Handshaking) bool { return e.Incoming })
	assert.True(t, in.Incoming)
	assert.False(t, p.a.s.redial.isPaused(p.bob), "a link of the contact connected: resumed")
	assert.Equal(t, aDials, p.aDial.count(p.bob), "alice did not dial")

	// Resumed for real: a link lost without a goodbye is dialed again by
	// the loop once the backoff is over (injected clock).
	id, err := p.b.s.Send(p.alice, "hello again")
	require.NoError(t, err)
	waitFor(p.b, func(e Delivered) bool { return e.ID == id })
	_, l := liveLinks(p.a.s, p.bob)
	require.NotNil(t, l)
	l.end(EndNetwork, nil) // a cut, not a goodbye
	waitFor(p.a, func(e Ended) bool { return e.Contact == p.bob && e.Reason == EndNetwork })
	require.Eventually(t, func() bool { return !p.a.s.busyWith(p.bob) }, 20*time.Second, 10*time.Millisecond)
	p.a.s.redial.tick(time.Now().Add(time.Hour), p.a.store.Contacts(), p.a.s.busyWith)
	assert.Equal(t, aDials+1, p.aDial.count(p.bob), "not paused: the loop dials")
	assert.Len(t, eventsOf[ReconnectPaused](p.a), 1, "a cut is no goodbye")
}
