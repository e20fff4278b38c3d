package session

import (
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/internal/testkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freeAddr returns a loopback address nobody listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// contactOf is name's key as a contact reached at addrs.
func contactOf(name string, addrs ...string) history.Contact {
	id := testkeys.Identity(name).Public()
	return history.Contact{ID: id.Fingerprint(), Key: id.Bytes(), Name: name, TheirName: name, Addrs: addrs, FirstSeen: time.Now(), LastSeen: time.Now()}
}

func vaultConfig(v *history.Vault, name string) Config {
	return Config{Identity: v.Identity(), Name: name, Store: v, HandshakeTimeout: 20 * time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
}

func vaultContact(v *history.Vault, name string, addrs ...string) history.Contact {
	id := v.Identity().Public()
	return history.Contact{ID: id.Fingerprint(), Key: id.Bytes(), Name: name, TheirName: name, Addrs: addrs, FirstSeen: time.Now(), LastSeen: time.Now()}
}

// Done when (issue 11): write to an offline contact, restart the app, the
// contact comes online, the message arrives once and both sides show it
// delivered.
func TestOutbox_WriteToAnOfflineContactRestartAndItArrivesOnceDeliveredOnBothSides(t *testing.T) {
	dir := t.TempDir()
	aliceDir, bobDir := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	av, err := history.CreateWith(aliceDir, "alice", []byte("pass-alice"), cheap)
	require.NoError(t, err)
	bv, err := history.CreateWith(bobDir, "bob", []byte("pass-bob"), cheap)
	require.NoError(t, err)
	defer bv.Close()
	bobAddr := freeAddr(t)
	require.NoError(t, av.SaveContact(vaultContact(bv, "bob", bobAddr)))
	require.NoError(t, bv.SaveContact(vaultContact(av, "alice")))
	bob, alice := bv.Identity().Public().Fingerprint(), av.Identity().Public().Fingerprint()

	// Bob is offline: the message is queued durably.
	a1, err := New(vaultConfig(av, "alice"))
	require.NoError(t, err)
	p1 := watch(t, a1, nil, true)
	id, err := a1.Send(bob, "while you were away")
	require.NoError(t, err)
	q := waitFor(p1, func(e Queued) bool { return e.Message.ID == id })
	assert.Equal(t, bob, q.Contact)
	assert.True(t, q.Message.Outgoing)
	_, err = a1.Send("0123", "not a contact")
	assert.ErrorIs(t, err, ErrNoContact)
	require.NoError(t, a1.Close())
	require.NoError(t, av.Close())

	// Alice restarts; the message is still waiting.
	av, err = history.Open(aliceDir, []byte("pass-alice"))
	require.NoError(t, err)
	defer av.Close()
	out := av.Outbox(bob)
	require.Len(t, out, 1)
	assert.Equal(t, id, out[0].ID)
	a2, err := New(vaultConfig(av, "alice"))
	require.NoError(t, err)
	p2 := watch(t, a2, nil, true)
	a2.SetAutoReconnect(true)
	waitFor(p2, func(e Reconnecting) bool { return e.Contact == bob })

	// Bob comes online at the address alice knows.
	b, err := Host(vaultConfig(bv, "bob"), bobAddr)
	require.NoError(t, err)
	pb := watch(t, b, nil, true)

	waitFor(p2, func(e Delivered) bool { return e.ID == id })
	got := waitFor(pb, func(e MessageEvent) bool { return !e.Message.Outgoing })
	assert.Equal(t, id, got.Message.ID)
	assert.Equal(t, "while you were away", got.Message.Text)
	// A message after it: once it is shown, any resend was seen too.
	marker, err := a2.Send(bob, "marker")
	require.NoError(t, err)
	waitFor(p2, func(e Delivered) bool { return e.ID == marker })
	waitFor(pb, func(e MessageEvent) bool { return e.Message.ID == marker })
	assert.Len(t, eventsOf[MessageEvent](pb), 2, "shown once")
	assert.Empty(t, av.Outbox(""))

	// Both histories: alice's copy delivered, bob's copy once.
	th, err := av.Thread(bob)
	require.NoError(t, err)
	require.Len(t, th.Messages, 2)
	assert.Equal(t, id, th.Messages[0].ID)
	assert.True(t, th.Messages[0].Outgoing)
	assert.Equal(t, history.StatusDelivered, th.Messages[0].Status)
	th, err = bv.Thread(alice)
	require.NoError(t, err)
	require.Len(t, th.Messages, 2)
	assert.Equal(t, id, th.Messages[0].ID)
	assert.False(t, th.Messages[0].Outgoing)
	assert.Equal(t, history.StatusDelivered, th.Messages[0].Status)
}

func TestOutbox_ACancelledMessageIsNeverSent(t *testing.T) {
	dir := t.TempDir()
	av, err := history.CreateWith(filepath.Join(dir, "alice"), "alice", []byte("pass-alice"), cheap)
	require.NoError(t, err)
	defer av.Close()
	bv, err := history.CreateWith(filepath.Join(dir, "bob"), "bob", []byte("pass-bob"), cheap)
	require.NoError(t, err)
	defer bv.Close()
	bobAddr := freeAddr(t)
	require.NoError(t, av.SaveContact(vaultContact(bv, "bob", bobAddr)))
	bob := bv.Identity().Public().Fingerprint()
	a, err := New(vaultConfig(av, "alice"))
	require.NoError(t, err)
	pa := watch(t, a, nil, true)
	gone, err := a.Send(bob, "forget it")
	require.NoError(t, err)
	// Cancelled at once, maybe before it is durable: Cancelled follows.
	require.NoError(t, a.CancelMessage(bob, gone))
	waitFor(pa, func(e Cancelled) bool { return e.ID == gone })
	order := []string{}
	for _, e := range pa.all() {
		switch e := e.(type) {
		case Queued:
			if e.Message.ID == gone {
				order = append(order, "queued")
			}
		case Cancelled:
			order = append(order, "cancelled")
		}
	}
	assert.Equal(t, []string{"queued", "cancelled"}, order)
	kept, err := a.Send(bob, "this one")
	require.NoError(t, err)
	waitFor(pa, func(e Queued) bool { return e.Message.ID == kept })

	b, err := Host(vaultConfig(bv, "bob"), bobAddr)
	require.NoError(t, err)
	pb := watch(t, b, nil, true)
	require.NoError(t, a.ReconnectNow(bob))
	waitFor(pa, func(e Delivered) bool { return e.ID == kept })
	waitFor(pb, func(e MessageEvent) bool { return e.Message.ID == kept })
	for _, e := range eventsOf[MessageEvent](pb) {
		assert.NotEqual(t, gone, e.Message.ID, "a cancelled message was sent")
	}
	assert.ErrorIs(t, a.CancelMessage(bob, kept), ErrAlreadyDelivered)
	th, err := av.Thread(bob)
	require.NoError(t, err)
	require.Len(t, th.Messages, 2)
	assert.Equal(t, history.StatusCancelled, th.Messages[0].Status)
	assert.Equal(t, history.StatusDelivered, th.Messages[1].Status)
}

// liveLinks returns s's links and its link with contact.
func liveLinks(s *Session, contact string) (n int, l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links), s.byContact[contact]
}

// Done when (issue 11): both sides dial each other at the same moment, 50
// times; each time exactly one link survives, the same on both sides, and
// every message arrives once.
func TestOutbox_SimultaneousDialsLeaveExactlyOneLink50Times(t *testing.T) {
	as, bs := newMemStore(), newMemStore()
	a, err := Host(testConfig("alice", as), "127.0.0.1:0")
	require.NoError(t, err)
	pa := watch(t, a, as, true)
	b, err := Host(testConfig("bob", bs), "127.0.0.1:0")
	require.NoError(t, err)
	pb := watch(t, b, bs, true)
	aAddr, bAddr := hostAddr(t, pa), hostAddr(t, pb)
	require.NoError(t, as.SaveContact(contactOf("bob", bAddr)))
	require.NoError(t, bs.SaveContact(contactOf("alice", aAddr)))
	alice, bob := fingerprint("alice"), fingerprint("bob")

	const rounds = 50
	winners := map[string]int{}
	for round := range rounds {
		var start, done sync.WaitGroup
		start.Add(1)
		for _, d := range []struct {
			s    *Session
			to   string
			addr string
		}{{a, bob, bAddr}, {b, alice, aAddr}} {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				_, _ = d.s.DialTarget(Target{Contact: d.to, Addrs: []string{d.addr}})
			}()
		}
		start.Done()
		done.Wait()
		// Settled: one link on each side, connected, and the same
		// connection: dialed by one side, accepted by the other. (The
		// wait is a failure guard.)
		var la, lb *link
		require.Eventually(t, func() bool {
			var na, nb int
			na, la = liveLinks(a, bob)
			nb, lb = liveLinks(b, alice)
			return na == 1 && nb == 1 && la != nil && lb != nil && la.isConnected() && lb.isConnected()
		}, 20*time.Second, 5*time.Millisecond, "round %d: one link survives on both sides", round)
		assert.NotEqual(t, la.initiator, lb.initiator, "round %d: both sides kept the same connection", round)
		if la.initiator == (alice < bob) {
			winners["the smaller side's"]++
		} else {
			winners["the other's (one dial came late)"]++
		}
		ida, err := a.Send(bob, fmt.Sprintf("round %d from alice", round))
		require.NoError(t, err)
		idb, err := b.Send(alice, fmt.Sprintf("round %d from bob", round))
		require.NoError(t, err)
		waitFor(pa, func(e Delivered) bool { return e.ID == ida })
		waitFor(pb, func(e Delivered) bool { return e.ID == idb })
		waitFor(pb, func(e MessageEvent) bool { return e.Message.ID == ida })
		waitFor(pa, func(e MessageEvent) bool { return e.Message.ID == idb })
		require.NoError(t, a.Disconnect(bob))
		require.Eventually(t, func() bool {
			na, _ := liveLinks(a, bob)
			nb, _ := liveLinks(b, alice)
			return na == 0 && nb == 0
		}, 20*time.Second, 5*time.Millisecond, "round %d: the link ends on both sides", round)
	}
	replaced := 0
	for _, e := range append(eventsOf[Ended](pa), eventsOf[Ended](pb)...) {
		if e.Reason == EndReplaced {
			replaced++
		}
	}
	t.Logf("surviving links: %v; links ended by the tie-break (both ends counted): %d", winners, replaced)
	for _, p := range []*peer{pa, pb} {
		shown := map[string]int{}
		for _, e := range eventsOf[MessageEvent](p) {
			if !e.Message.Outgoing {
				shown[e.Message.Text]++
			}
		}
		assert.Len(t, shown, rounds)
		for text, n := range shown {
			assert.Equal(t, 1, n, "%q shown %d times", text, n)
		}
	}
	assert.Empty(t, as.Outbox(""))
	assert.Empty(t, bs.Outbox(""))
}

// A partner that restarted (a new epoch) gets back in at once, even where
// the tie-break of a simultaneous dial would keep the old link: the old link
// was dialed by the side with the smaller fingerprint.
func TestOutbox_ARestartedPartnerReplacesTheLinkTheSmallerSideDialed(t *testing.T) {
	small, large := "alice", "bob"
	if fingerprint(small) > fingerprint(large) {
		small, large = large, small
	}
	ss, ls := newMemStore(), newMemStore()
	require.NoError(t, ss.SaveContact(contactOf(large)))
	require.NoError(t, ls.SaveContact(contactOf(small)))
	sm, err := Host(testConfig(small, ss), "127.0.0.1:0")
	require.NoError(t, err)
	ps := watch(t, sm, ss, true)
	lg, err := Host(testConfig(large, ls), "127.0.0.1:0")
	require.NoError(t, err)
	pl := watch(t, lg, ls, true)
	_, err = sm.DialTarget(Target{Contact: fingerprint(large), Addrs: []string{hostAddr(t, pl)}})
	require.NoError(t, err)
	old := waitFor[Connected](ps, nil)
	waitFor[Connected](pl, nil)

	// The larger side "restarts": a new run of it (same key, new epoch)
	// dials while the old link is still up.
	lg2, err := New(testConfig(large, ls))
	require.NoError(t, err)
	pl2 := watch(t, lg2, ls, true)
	_, err = lg2.DialTarget(Target{Contact: fingerprint(small), Addrs: []string{hostAddr(t, ps)}})
	require.NoError(t, err)
	waitFor[Connected](pl2, nil)
	e := waitFor(ps, func(e Ended) bool { return e.Link == old.Link })
	assert.Equal(t, EndReplaced, e.Reason, "the new run takes over")
	id, err := lg2.Send(fingerprint(small), "back again")
	require.NoError(t, err)
	waitFor(pl2, func(e Delivered) bool { return e.ID == id })
	assert.Empty(t, eventsOf[Ended](pl2), "the new run's link stays")
}
