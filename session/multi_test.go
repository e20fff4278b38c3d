package session

import (
	"net"
	"testing"
	"time"

	"github.com/securechat/securechat/internal/testkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fingerprint(name string) string { return testkeys.Identity(name).Public().Fingerprint() }

// join connects a partner called name to the host at addr and waits until
// both sides are connected.
func join(t *testing.T, host *peer, addr, name string) *peer {
	t.Helper()
	c, err := Connect(testConfig(name, nil), addr)
	require.NoError(t, err)
	p := watch(t, c, nil, true)
	waitFor[Connected](p, nil)
	waitFor(host, func(e Connected) bool { return e.Partner.Fingerprint == fingerprint(name) })
	return p
}

func TestMulti_ThreePartnersChatWithOneHostAtOnce(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	addr := hostAddr(t, host)
	names := []string{"carol", "dave", "erin"}
	partners := map[string]*peer{}
	for _, n := range names {
		partners[n] = join(t, host, addr, n)
	}
	links := map[LinkID]string{}
	for _, c := range eventsOf[Connected](host) {
		links[c.Link] = c.Partner.Fingerprint
	}
	require.Len(t, links, 3, "one link per partner")

	// Each partner and the host exchange messages; every event names the
	// right contact.
	for _, n := range names {
		_, err := partners[n].send("hello from " + n)
		require.NoError(t, err)
		m := waitFor(host, func(e MessageEvent) bool { return e.Message.Text == "hello from "+n })
		assert.Equal(t, fingerprint(n), m.Contact)
		assert.Equal(t, fingerprint(n), links[m.Link], "the message came on %s's link", n)
		assert.Equal(t, n, m.Message.From)
		id, err := h.Send(fingerprint(n), "hi "+n)
		require.NoError(t, err)
		d := waitFor(host, func(e Delivered) bool { return e.ID == id })
		assert.Equal(t, fingerprint(n), d.Contact)
		got := waitFor(partners[n], func(e MessageEvent) bool { return !e.Message.Outgoing })
		assert.Equal(t, "hi "+n, got.Message.Text, "%s gets only its own message", n)
	}
	for _, n := range names {
		assert.Len(t, eventsOf[MessageEvent](partners[n]), 2, "%s sees its own message and the host's, nothing else", n)
	}

	// Dave leaves; carol and erin go on, undisturbed.
	require.NoError(t, partners["dave"].disconnect())
	e := waitFor(host, func(e Ended) bool { return e.Contact == fingerprint("dave") })
	assert.Equal(t, EndPartnerLeft, e.Reason)
	assert.True(t, e.Connected)
	_, err = h.Send(fingerprint("dave"), "are you there?")
	assert.ErrorIs(t, err, ErrNotConnected)
	for _, n := range []string{"carol", "erin"} {
		id, err := h.Send(fingerprint(n), "still here, "+n)
		require.NoError(t, err)
		waitFor(host, func(e Delivered) bool { return e.ID == id })
		waitFor(partners[n], func(e MessageEvent) bool { return e.Message.Text == "still here, "+n })
		_, err = partners[n].send("me too")
		require.NoError(t, err)
		waitFor(host, func(e MessageEvent) bool { return e.Contact == fingerprint(n) && e.Message.Text == "me too" })
		assert.Empty(t, eventsOf[Ended](partners[n]))
	}
	assert.Len(t, eventsOf[Ended](host), 1, "only dave's link ended")
}

func TestMulti_AnUnknownKeyIsARequestAndTheChatInProgressSeesNothing(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, false)
	addr := hostAddr(t, host)
	c, err := Connect(testConfig("alice", nil), addr)
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	require.NoError(t, h.Accept(waitFor[Request](host, nil).Partner.Fingerprint))
	waitFor[Connected](alice, nil)
	before := len(alice.all())

	m, err := Connect(testConfig("mallory", nil), addr)
	require.NoError(t, err)
	watch(t, m, nil, true)
	req := waitFor(host, func(e Request) bool { return e.Partner.Fingerprint == fingerprint("mallory") })
	assert.Equal(t, TrustNew, req.Partner.Trust)

	// The chat goes on while the request waits.
	for _, text := range []string{"one", "two", "three"} {
		id, err := alice.send(text)
		require.NoError(t, err)
		waitFor(host, func(e MessageEvent) bool { return e.Message.Text == text })
		waitFor(alice, func(e Delivered) bool { return e.ID == id })
	}
	id, err := h.Send(fingerprint("alice"), "four")
	require.NoError(t, err)
	waitFor(host, func(e Delivered) bool { return e.ID == id })
	for _, e := range alice.all()[before:] {
		switch e.(type) {
		case Queued, MessageEvent, Delivered:
		default:
			t.Errorf("alice's chat was disturbed by the request: %T", e)
		}
	}
	assert.Empty(t, eventsOf[Ended](host))
}

func TestMulti_APartnerThatRestartedReplacesItsOldLinkAtOnce(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	addr := hostAddr(t, host)
	// Alice's first process reaches the host through a relay that later
	// goes silent: her process died without a goodbye, and the host has
	// not noticed (its keepalive would take 40 s).
	r := newRelay(t, addr)
	c1, err := Connect(testConfig("alice", nil), r.addr())
	require.NoError(t, err)
	first := watch(t, c1, nil, true)
	waitFor[Connected](first, nil)
	old := waitFor[Connected](host, nil).Link
	r.setHook(func(int, int, []byte) [][]byte { return nil })

	// Her new process connects again and gets in at once.
	start := time.Now()
	c2, err := Connect(testConfig("alice", nil), addr)
	require.NoError(t, err)
	second := watch(t, c2, nil, true)
	waitFor[Connected](second, nil)
	again := waitFor(host, func(e Connected) bool { return e.Link != old })
	assert.Equal(t, fingerprint("alice"), again.Partner.Fingerprint)
	assert.Less(t, time.Since(start), 10*time.Second)
	e := waitFor(host, func(e Ended) bool { return e.Link == old })
	assert.Equal(t, EndReplaced, e.Reason)
	assert.Equal(t, fingerprint("alice"), e.Contact)
	assert.True(t, e.Connected)

	// Messages go to the new link, both ways.
	id, err := h.Send(fingerprint("alice"), "welcome back")
	require.NoError(t, err)
	waitFor(host, func(e Delivered) bool { return e.ID == id })
	assert.Equal(t, "welcome back", waitFor[MessageEvent](second, nil).Message.Text)
	_, err = second.send("thanks")
	require.NoError(t, err)
	got := waitFor(host, func(e MessageEvent) bool { return e.Message.Text == "thanks" })
	assert.Equal(t, again.Link, got.Link)
}

func TestMulti_ListeningIsIndependentOfTheChats(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	addr := hostAddr(t, host)
	alice := join(t, host, addr, "alice")

	assert.ErrorIs(t, h.Listen("127.0.0.1:0"), ErrListening)
	require.NoError(t, h.StopListening())
	waitFor[ListenStopped](host, nil)
	assert.ErrorIs(t, h.StopListening(), ErrNotListening)
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "nobody listens any more")

	// The chat is still up.
	id, err := alice.send("still chatting")
	require.NoError(t, err)
	waitFor(alice, func(e Delivered) bool { return e.ID == id })

	// Listening again, on the same port; the chat still goes on.
	require.NoError(t, h.Listen(addr))
	require.Eventually(t, func() bool { return len(eventsOf[Listening](host)) == 2 }, 5*time.Second, 10*time.Millisecond)
	join(t, host, addr, "carol")
	id, err = alice.send("and still")
	require.NoError(t, err)
	waitFor(alice, func(e Delivered) bool { return e.ID == id })
	assert.Empty(t, eventsOf[Ended](alice))

	// A port another program holds is an error that says so.
	s, err := New(testConfig("dave", nil))
	require.NoError(t, err)
	other := watch(t, s, nil, true)
	err = s.Listen(addr)
	require.ErrorIs(t, err, ErrPortInUse)
	assert.Empty(t, eventsOf[Listening](other))
	_, err = Host(testConfig("dave", nil), addr)
	require.ErrorIs(t, err, ErrPortInUse)
}

func TestMulti_SendToAContactWithoutALinkIsNotConnected(t *testing.T) {
	host, conn := startChat(t, "bob", "alice", nil, nil, nil)
	_, err := host.s.Send(fingerprint("carol"), "hello?")
	assert.ErrorIs(t, err, ErrNotConnected)
	require.NoError(t, conn.disconnect())
	waitFor[Ended](host, nil)
	_, err = host.s.Send(fingerprint("alice"), "hello?")
	assert.ErrorIs(t, err, ErrNotConnected, "after the chat ended")
	assert.ErrorIs(t, host.s.Disconnect(fingerprint("alice")), ErrNotConnected)
	assert.ErrorIs(t, host.s.Accept(fingerprint("alice")), ErrNoRequest)
}

func TestMulti_DecliningOneRequestLeavesTheOthers(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, false)
	addr := hostAddr(t, host)
	callers := map[string]*peer{}
	for _, n := range []string{"carol", "dave", "erin"} {
		c, err := Connect(testConfig(n, nil), addr)
		require.NoError(t, err)
		callers[n] = watch(t, c, nil, true)
		waitFor(host, func(e Request) bool { return e.Partner.Fingerprint == fingerprint(n) })
	}
	require.NoError(t, h.Decline(fingerprint("dave")))
	e := waitFor[Ended](callers["dave"], nil)
	assert.Equal(t, EndPartnerDeclined, e.Reason)
	he := waitFor(host, func(e Ended) bool { return e.Contact == fingerprint("dave") })
	assert.Equal(t, EndWeDeclined, he.Reason)
	assert.ErrorIs(t, h.Decline(fingerprint("dave")), ErrNoRequest)

	for _, n := range []string{"carol", "erin"} {
		require.NoError(t, h.Accept(fingerprint(n)))
		waitFor[Connected](callers[n], nil)
		_, err := callers[n].send("thanks, " + n)
		require.NoError(t, err)
		waitFor(host, func(e MessageEvent) bool { return e.Contact == fingerprint(n) })
		assert.Empty(t, eventsOf[Ended](callers[n]))
	}
}

func TestMulti_CancelDropsALinkNotYetConnected(t *testing.T) {
	addr := silentHost(t, 5*time.Second)
	s, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	p := watch(t, s, nil, true)
	id, err := s.DialTarget(Target{Addrs: []string{addr}})
	require.NoError(t, err)
	hs := waitFor[Handshaking](p, nil)
	assert.Equal(t, id, hs.Link)
	assert.False(t, hs.Incoming)
	require.NoError(t, s.Cancel(id))
	e := waitFor[Ended](p, nil)
	assert.Equal(t, id, e.Link)
	assert.Equal(t, EndCancelled, e.Reason)
	assert.False(t, e.Connected)
	assert.ErrorIs(t, s.Cancel(id), ErrNoLink)
}

func TestMulti_DialingAConnectedContactIsAlreadyConnected(t *testing.T) {
	hs, cs := newMemStore(), newMemStore()
	host, conn := startChat(t, "bob", "alice", hs, cs, nil)
	bob := fingerprint("bob")
	require.Eventually(t, func() bool { _, ok := cs.Contact(bob); return ok }, 5*time.Second, 10*time.Millisecond)
	_, err := conn.s.DialTarget(Target{Addrs: []string{hostAddr(t, host)}, Contact: bob})
	assert.ErrorIs(t, err, ErrAlreadyConnected)
	c := waitFor[Connected](conn, nil)
	assert.ErrorIs(t, conn.s.Cancel(c.Link), ErrLinkConnected, "a connected link ends with Disconnect")
}

func TestMulti_OnlyContactsCanBeSwitchedWhileListening(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	addr := hostAddr(t, host)
	h.SetOnlyContacts(true)
	c, err := Connect(testConfig("carol", nil), addr)
	require.NoError(t, err)
	carol := watch(t, c, nil, true)
	assert.Equal(t, EndNotAdmitted, waitFor[Ended](carol, nil).Reason)
	h.SetOnlyContacts(false)
	join(t, host, addr, "dave")
}
