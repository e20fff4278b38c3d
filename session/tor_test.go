package session

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testOnion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"

// fakeTor stands in for tor: it "reaches" onion names that map to loopback
// addresses, and records what it was asked to dial.
type fakeTor struct {
	mu     sync.Mutex
	routes map[string]string // onion host:port -> loopback address
	asked  []string
}

func (f *fakeTor) dial(ctx context.Context, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.asked = append(f.asked, addr)
	to, ok := f.routes[addr]
	f.mu.Unlock()
	if !ok {
		return nil, errors.New("tor: onion service not found (SOCKS 0xF0)")
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", to)
}

func (f *fakeTor) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// countingListener is a host's address that counts the connections it gets
// (a LAN address that Tor-only mode must not dial).
func countingListener(t *testing.T) (string, func() int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			_ = c.Close()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestTor_AnOnionAddressIsDialedThroughTorAndTheChatWorks(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	onion := testOnion + ":9999"
	tor := &fakeTor{routes: map[string]string{onion: hostAddr(t, host)}}

	store := newMemStore()
	c, err := New(testConfig("alice", store))
	require.NoError(t, err)
	alice := watch(t, c, store, true)
	c.SetOnionDialer(tor.dial, false)
	_, err = c.Dial(onion)
	require.NoError(t, err)
	conn := waitFor[Connected](alice, nil)
	assert.Equal(t, fingerprint("bob"), conn.Partner.Fingerprint)
	assert.Equal(t, []string{onion}, tor.dialed())

	id, err := c.Send(fingerprint("bob"), "through tor")
	require.NoError(t, err)
	waitFor(alice, func(e Delivered) bool { return e.ID == id })
	waitFor(host, func(e MessageEvent) bool { return e.Message.Text == "through tor" })
	bob, ok := store.Contact(fingerprint("bob"))
	require.True(t, ok)
	assert.Equal(t, []string{onion}, bob.Addrs, "the onion address is where the contact is reached again")
}

func TestTor_AnOnionAddressWithoutTorModeIsRefusedAndNeverResolved(t *testing.T) {
	c, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	_, err = c.Dial(testOnion + ":9999")
	require.NoError(t, err)
	e := waitFor[Ended](alice, nil)
	assert.Equal(t, EndTorOff, e.Reason)
	assert.ErrorIs(t, e.Err, ErrNoTor)

	// Tor mode on, then off again: back to refusing.
	tor := &fakeTor{}
	c.SetOnionDialer(tor.dial, false)
	c.SetOnionDialer(nil, false)
	_, err = c.Dial(testOnion + ":9998")
	require.NoError(t, err)
	e = waitFor(alice, func(e Ended) bool { return e.Addr == testOnion+":9998" })
	assert.Equal(t, EndTorOff, e.Reason)
	assert.Empty(t, tor.dialed())
}

func TestTor_AnOnionServiceTorCannotReachSaysSo(t *testing.T) {
	c, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	c.SetOnionDialer((&fakeTor{}).dial, false)
	_, err = c.Dial(testOnion + ":9999")
	require.NoError(t, err)
	e := waitFor[Ended](alice, nil)
	assert.Equal(t, EndTorUnreachable, e.Reason)
	assert.Contains(t, e.Err.Error(), "onion service not found", "tor's reason reaches the user")
}

func TestTor_OnlyThroughTorNeverDialsAnAddressDirectly(t *testing.T) {
	lan, connections := countingListener(t)
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	onion := testOnion + ":9999"
	tor := &fakeTor{routes: map[string]string{onion: hostAddr(t, host)}}

	c, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	c.SetOnionDialer(tor.dial, true)
	_, err = c.Dial(lan)
	require.NoError(t, err)
	e := waitFor[Ended](alice, nil)
	assert.Equal(t, EndTorOnly, e.Reason)

	// A target with both: the LAN address is skipped, the onion reached.
	_, err = c.DialTarget(Target{Addrs: []string{lan, onion}})
	require.NoError(t, err)
	waitFor[Connected](alice, nil)
	assert.Zero(t, connections(), "no connection to the LAN address in Tor-only mode")
}

func TestTor_DirectAddressesAreTriedBeforeOnionOnes(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	onion := testOnion + ":9999"
	tor := &fakeTor{routes: map[string]string{onion: hostAddr(t, host)}}
	c, err := New(testConfig("alice", nil))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	c.SetOnionDialer(tor.dial, false)
	_, err = c.DialTarget(Target{Addrs: []string{onion, hostAddr(t, host)}})
	require.NoError(t, err)
	conn := waitFor[Connected](alice, nil)
	assert.Equal(t, hostAddr(t, host), conn.Partner.Addr, "the direct address answered first")
	assert.Empty(t, tor.dialed(), "tor was not needed")

	assert.Equal(t, []string{"192.0.2.1:1", "[2001:db8::1]:2", onion, "x.onion:3"},
		orderForDial([]string{onion, "192.0.2.1:1", "x.onion:3", "[2001:db8::1]:2"}))
}

// TestTor_AnInviteesContactKeepsEveryAddressOfTheInvite: the invite's
// direct address answered, and the contact keeps the onion address too, so
// that a later reconnect can reach the inviter through Tor when the direct
// address no longer does.
func TestTor_AnInviteesContactKeepsEveryAddressOfTheInvite(t *testing.T) {
	hs, target := inviting(t, 1, time.Now().Add(time.Hour))
	h, err := Host(testConfig("bob", hs), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, true)
	addr := hostAddr(t, host)
	onion := testOnion + ":9999"
	tg := target(addr)
	tg.Addrs = []string{addr, onion}
	cs := newMemStore()
	c, err := New(testConfig("alice", cs))
	require.NoError(t, err)
	alice := watch(t, c, cs, true)
	c.SetOnionDialer((&fakeTor{}).dial, false)
	_, err = c.DialTarget(tg)
	require.NoError(t, err)
	waitFor[Connected](alice, nil)
	bob, ok := cs.Contact(fingerprint("bob"))
	require.True(t, ok)
	assert.Equal(t, []string{addr, onion}, bob.Addrs, "the address that answered first, then the invite's onion address")
	assert.Equal(t, []string{addr, onion}, orderForDial(bob.Addrs))
}

// TestTor_SilentCallersThroughOurOnionServiceDoNotKeepAContactOut: every
// caller through our onion service comes from 127.0.0.1 (our tor), so the
// per-source bound on half-open handshakes does not apply to it in Tor
// mode: four silent callers do not keep the fifth, honest one, out.
func TestTor_SilentCallersThroughOurOnionServiceDoNotKeepAContactOut(t *testing.T) {
	cfg := testConfig("bob", nil)
	cfg.OnionDialer = (&fakeTor{}).dial
	h, err := Host(cfg, "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	addr := hostAddr(t, host)
	for range MaxHandshakesPerSource + 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
	}
	time.Sleep(100 * time.Millisecond) // the host has taken them
	c, err := Connect(testConfig("alice", nil), addr)
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	waitFor[Connected](alice, nil)
}
