package session

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/internal/testkeys"
	"github.com/securechat/securechat/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenHost starts a host that accepts everyone and returns it with its address.
func listenHost(t *testing.T, cfg Config) (*peer, string) {
	t.Helper()
	h, err := Host(cfg, "127.0.0.1:0")
	require.NoError(t, err)
	p := watch(t, h, nil, true)
	return p, hostAddr(t, p)
}

// assertStillServing proves the listener still takes a real partner.
func assertStillServing(t *testing.T, host *peer, addr string) {
	t.Helper()
	c, err := Connect(testConfig("alice", nil), addr)
	require.NoError(t, err)
	cp := watch(t, c, nil, true)
	waitFor[Connected](cp, nil)
	waitFor[Connected](host, nil)
	_ = c.Close()
}

func TestSession_GarbageOnThePortIsRefusedAndTheListenerKeepsServing(t *testing.T) {
	tlsHello := []byte{0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00, 0xf0, 0x03, 0x03}
	random := make([]byte, 512)
	_, _ = rand.Read(random)
	random[0] = 0x7f // make sure the length prefix announces too much
	for name, tc := range map[string]struct {
		send []byte
		want string
	}{
		"random bytes":      {random, "frame larger than the limit"},
		"http request":      {[]byte("GET / HTTP/1.1\r\nHost: localhost:9999\r\n\r\n"), "frame larger than the limit"},
		"tls client hello":  {tlsHello, "frame larger than the limit"},
		"frame over limit":  {binary.BigEndian.AppendUint32(nil, transport.MaxFrameSize+1), "frame larger than the limit"},
		"wrong first frame": {transport.Frame([]byte("hello there")), "does not speak the SecureChat protocol"},
	} {
		t.Run(name, func(t *testing.T) {
			host, addr := listenHost(t, testConfig("bob", nil))
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, _ = c.Write(tc.send)
			e := waitFor[Ended](host, nil)
			assert.ErrorContains(t, e.Err, tc.want)
			// The stranger is told, in a frame, that this is a SecureChat port.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			reply, err := transport.NewConn(c).ReadFrame()
			if err == nil {
				a, perr := scrypto.ParseAlert(reply)
				require.NoError(t, perr)
				assert.Contains(t, a.Reason, "SecureChat")
			}
			c.Close()
			assertStillServing(t, host, addr)
		})
	}
}

func TestSession_StalledHandshakeHitsTheDeadline(t *testing.T) {
	cfg := testConfig("bob", nil)
	// Long enough for the genuine handshake of assertStillServing on a
	// loaded machine with the race detector on.
	cfg.HandshakeTimeout = 2 * time.Second
	host, addr := listenHost(t, cfg)

	// A client that sends a real ClientHello and then goes silent.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	ini, err := scrypto.NewInitiator(scrypto.Config{Identity: testConfig("alice", nil).Identity, Name: "alice"})
	require.NoError(t, err)
	m, err := ini.WriteClientHello()
	require.NoError(t, err)
	_, err = c.Write(transport.Frame(m))
	require.NoError(t, err)

	start := time.Now()
	e := waitFor[Ended](host, nil)
	assert.True(t, isTimeout(e.Err), "want a deadline error, got %v", e.Err)
	assert.Less(t, time.Since(start), 8*time.Second)
	assertStillServing(t, host, addr)
}

func TestSession_ConnectingToASilentHostHitsTheDeadline(t *testing.T) {
	addr := silentHost(t, 3*time.Second)
	cfg := testConfig("alice", nil)
	cfg.HandshakeTimeout = 300 * time.Millisecond
	s, err := Connect(cfg, addr)
	require.NoError(t, err)
	p := watch(t, s, nil, true)
	e := waitFor[Ended](p, nil)
	assert.Equal(t, EndTimeout, e.Reason)
}

// Each case changes the client's chat records on the way. Client-to-server
// frames are numbered from 0: ClientHello, ClientIdentity, ClientVerify,
// ClientKey, Finished, Hello, Accept, and from 7 on the chat messages.
func TestSession_TamperedRecordsEndTheSessionAndNothingForgedIsShown(t *testing.T) {
	cases := map[string]func(n int, f []byte, held *[]byte) [][]byte{
		"flipped bit in body": func(n int, f []byte, _ *[]byte) [][]byte {
			if n == 7 {
				f[len(f)-20] ^= 0x04
			}
			return [][]byte{f}
		},
		"flipped bit in header": func(n int, f []byte, _ *[]byte) [][]byte {
			if n == 7 {
				f[4+3] ^= 0x80 // record sequence number
			}
			return [][]byte{f}
		},
		"flipped bit in length": func(n int, f []byte, _ *[]byte) [][]byte {
			if n == 7 {
				g := append([]byte(nil), f[:len(f)-1]...)
				binary.BigEndian.PutUint32(g, uint32(len(g)-4))
				return [][]byte{g}
			}
			return [][]byte{f}
		},
		"replayed": func(n int, f []byte, _ *[]byte) [][]byte {
			if n == 7 {
				return [][]byte{f, f}
			}
			return [][]byte{f}
		},
		"reordered": func(n int, f []byte, held *[]byte) [][]byte {
			if n == 7 {
				*held = f
				return nil
			}
			if n == 8 {
				return [][]byte{f, *held}
			}
			return [][]byte{f}
		},
		"dropped": func(n int, f []byte, _ *[]byte) [][]byte {
			if n == 7 {
				return nil
			}
			return [][]byte{f}
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			var held []byte
			var r *relay
			host, conn := startChat(t, "bob", "alice", nil, nil, func(addr string) string {
				r = newRelay(t, addr)
				r.setHook(func(dir, n int, f []byte) [][]byte {
					if dir != 0 {
						return [][]byte{f}
					}
					return change(n, f, &held)
				})
				return r.addr()
			})
			first, err := conn.send("first, forged on the way")
			require.NoError(t, err)
			ids := []string{first}
			// The session may already have ended; "third" reveals a
			// dropped or held record.
			for _, text := range []string{"second", "third"} {
				if id, err := conn.send(text); err == nil {
					ids = append(ids, id)
				}
			}
			e := waitFor[Ended](host, nil)
			assert.True(t, errors.Is(e.Err, scrypto.ErrRecordAuth), "want an authentication error, got %v", e.Err)
			assert.Equal(t, EndSecurity, e.Reason)
			for _, m := range eventsOf[MessageEvent](host) {
				assert.NotEqual(t, "third", m.Message.Text, "a message after the tampering was shown")
				if name != "replayed" {
					assert.NotEqual(t, "first, forged on the way", m.Message.Text, "a forged message was shown")
				}
			}
			// A forged, dropped or held message, and any after it, was
			// not delivered: it waits in the sender's outbox for the
			// next link. (A replayed one was delivered, once.)
			waitFor[Ended](conn, nil)
			queued := map[string]bool{}
			for _, m := range conn.s.box.Outbox("") {
				queued[m.ID] = true
			}
			for _, id := range ids {
				if name != "replayed" || id != first {
					assert.True(t, queued[id], "message %s is still queued", id)
				}
			}
		})
	}
}

func TestSession_TruncatedStreamIsADisconnectAndUnackedMessagesStayQueued(t *testing.T) {
	var r *relay
	host, conn := startChat(t, "bob", "alice", nil, nil, func(addr string) string {
		r = newRelay(t, addr)
		return r.addr()
	})
	// Swallow everything the host sends back (its acks), then kill the link
	// as if the partner's process died.
	r.setHook(func(dir, n int, f []byte) [][]byte {
		if dir == 1 {
			return nil
		}
		return [][]byte{f}
	})
	id, err := conn.send("are you there?")
	require.NoError(t, err)
	waitFor[MessageEvent](host, nil)
	r.kill()
	e := waitFor[Ended](conn, nil)
	assert.Equal(t, EndPartnerLeft, e.Reason)
	assert.True(t, e.Connected)
	out := conn.s.box.Outbox(e.Contact)
	require.Len(t, out, 1)
	assert.Equal(t, id, out[0].ID)
	assert.Empty(t, eventsOf[Failed](conn))
	waitFor[Ended](host, nil)
}

func TestSession_ResendOnTheNextLinkIsShownOnceAndDelivered(t *testing.T) {
	var r *relay
	host, conn := startChat(t, "bob", "alice", nil, nil, func(addr string) string {
		r = newRelay(t, addr)
		return r.addr()
	})
	hostAddrStr := hostAddr(t, host)
	r.setHook(func(dir, n int, f []byte) [][]byte {
		if dir == 1 {
			return nil // the ack never arrives
		}
		return [][]byte{f}
	})
	id, err := conn.send("did this arrive?")
	require.NoError(t, err)
	waitFor[MessageEvent](host, nil)
	r.kill()
	waitFor[Ended](conn, nil)
	waitFor[Ended](host, nil)

	// The message waits in the outbox and goes out on the next link with
	// the same partner, by itself.
	_, err = conn.s.Dial(hostAddrStr)
	require.NoError(t, err)
	waitFor(conn, func(e Delivered) bool { return e.ID == id })
	// A marker after it: once it is shown, the resend was handled.
	after, err := conn.send("after")
	require.NoError(t, err)
	waitFor(host, func(e MessageEvent) bool { return e.Message.Text == "after" })
	waitFor(conn, func(e Delivered) bool { return e.ID == after })
	assert.Len(t, eventsOf[MessageEvent](host), 2, "a resent message must be shown once")
	assert.Empty(t, conn.s.box.Outbox(""))
}

func TestSession_DeadPartnerIsNoticedByKeepalive(t *testing.T) {
	var r *relay
	hcfg := testConfig("bob", nil)
	hcfg.PingInterval, hcfg.PingTimeout = 50*time.Millisecond, 400*time.Millisecond
	h, err := Host(hcfg, "127.0.0.1:0")
	require.NoError(t, err)
	hp := watch(t, h, nil, true)
	r = newRelay(t, hostAddr(t, hp))
	ccfg := testConfig("alice", nil)
	ccfg.PingInterval, ccfg.PingTimeout = 50*time.Millisecond, 400*time.Millisecond
	c, err := Connect(ccfg, r.addr())
	require.NoError(t, err)
	cp := watch(t, c, nil, true)
	waitFor[Connected](cp, nil)
	waitFor[Connected](hp, nil)
	// The network goes silent both ways, but no connection closes.
	r.setHook(func(int, int, []byte) [][]byte { return nil })
	// The first side to notice hangs up, so the other may instead see the
	// connection close; at least one must have noticed the silence.
	reasons := []EndReason{waitFor[Ended](cp, nil).Reason, waitFor[Ended](hp, nil).Reason}
	assert.Contains(t, reasons, EndTimeout)
}

func TestSession_SecondCallerGetsInAndTheFirstChatGoesOn(t *testing.T) {
	host, conn := startChat(t, "bob", "alice", nil, nil, nil)
	addr := hostAddr(t, host)
	alice := testkeys.Identity("alice").Public().Fingerprint()

	c2, err := Connect(testConfig("carol", nil), addr)
	require.NoError(t, err)
	p2 := watch(t, c2, nil, true)
	waitFor[Connected](p2, nil)
	assert.Empty(t, eventsOf[TurnedAway](host), "nobody is busy because one chat runs")

	_, err = conn.send("still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", waitFor[MessageEvent](host, nil).Message.Text)
	assert.Empty(t, eventsOf[Ended](conn))
	assert.Empty(t, eventsOf[Ended](host))

	// Once alice leaves, carol's chat goes on.
	require.NoError(t, conn.disconnect())
	waitFor(host, func(e Ended) bool { return e.Contact == alice })
	_, err = p2.send("and me")
	require.NoError(t, err)
	waitFor(host, func(e MessageEvent) bool { return e.Message.Text == "and me" })
}

func TestSession_TooManyRequestsAreToldBusy(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, false) // nobody answers the requests
	addr := hostAddr(t, host)
	for i := range MaxRequests {
		// One after the other: a source has only a few handshake slots.
		c, err := Connect(testConfig(testkeys.Extra[i], nil), addr)
		require.NoError(t, err)
		watch(t, c, nil, true)
		require.Eventually(t, func() bool { return len(eventsOf[Request](host)) == i+1 }, 20*time.Second, 10*time.Millisecond)
	}
	c, err := Connect(testConfig("mallory", nil), addr)
	require.NoError(t, err)
	late := watch(t, c, nil, true)
	e := waitFor[Ended](late, nil)
	assert.Equal(t, EndBusy, e.Reason)
	waitFor(host, func(e TurnedAway) bool { return e.Reason == EndBusy })
	end := waitFor(host, func(e Ended) bool { return e.Reason == EndBusy })
	assert.True(t, end.Incoming)
	assert.False(t, end.Connected, "the link that was turned away ends too")
	assert.Len(t, eventsOf[Request](host), MaxRequests)
}

func TestSession_ManInTheMiddleIsCaught(t *testing.T) {
	// Mallory relays between alice and bob, running her own handshake with
	// each side and claiming each one's name to the other.
	aliceStore, bobStore := newMemStore(), newMemStore()
	// First a genuine chat, so that both know each other's real keys.
	host, conn := startChat(t, "bob", "alice", bobStore, aliceStore, nil)
	genuine := waitFor[Connected](conn, nil).Partner.SafetyNumber
	require.NoError(t, conn.disconnect())
	waitFor[Ended](host, nil)
	addr := hostAddr(t, host)
	bob, ok := aliceStore.contactNamed("bob")
	require.True(t, ok, "alice keeps bob as a contact")

	// Mallory: pretends to be bob towards alice, and alice towards bob.
	mcfg := testConfig("mallory", nil)
	mcfg.Name = "bob"
	mh, err := Host(mcfg, "127.0.0.1:0")
	require.NoError(t, err)
	mhost := watch(t, mh, nil, true)
	mcfg2 := testConfig("mallory", nil)
	mcfg2.Name = "alice"
	mc, err := Connect(mcfg2, addr)
	require.NoError(t, err)
	watch(t, mc, nil, true)

	// Alice dials her contact bob; mallory answers.
	a, err := ConnectTarget(testConfig("alice", aliceStore), Target{Addrs: []string{hostAddr(t, mhost)}, Contact: bob.ID})
	require.NoError(t, err)
	alice := watch(t, a, aliceStore, false)
	req := waitFor[Request](alice, nil).Partner
	assert.Equal(t, "bob", req.Name)
	assert.Equal(t, TrustChanged, req.Trust, "another key answered for bob")
	assert.Equal(t, "bob", req.Expected)
	assert.NotEqual(t, genuine, req.SafetyNumber, "the safety numbers differ under interception")

	// Bob, the host, sees a new key calling itself alice: flagged.
	bobReq := waitFor(host, func(e Request) bool { return e.Partner.Fingerprint == req.Fingerprint }).Partner
	assert.Equal(t, "alice", bobReq.Name)
	assert.Equal(t, "alice", bobReq.LooksLike, "a new key with a contact's name is a lookalike")
	assert.NotEqual(t, req.SafetyNumber, bobReq.SafetyNumber)
}

func TestSession_DecliningEndsTheConversationOnBothSides(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, false)
	c, err := Connect(testConfig("alice", nil), hostAddr(t, host))
	require.NoError(t, err)
	conn := watch(t, c, nil, true)
	waitFor[Request](host, nil)
	waitFor[Waiting](conn, nil)
	req := waitFor[Request](conn, nil).Partner
	_, err = c.Send(req.Fingerprint, "let me in")
	require.ErrorIs(t, err, ErrNotConnected, "nothing flows before the host accepts")
	alice := waitFor[Request](host, nil).Partner.Fingerprint
	require.NoError(t, h.Decline(alice))
	e := waitFor[Ended](conn, nil)
	assert.Equal(t, EndPartnerDeclined, e.Reason)
	assert.False(t, e.Connected)
	he := waitFor[Ended](host, nil)
	assert.Equal(t, EndWeDeclined, he.Reason)
	assert.Equal(t, alice, he.Contact)
	assert.Empty(t, eventsOf[Connected](host))
}

func TestSession_HistoryFailureStopsTheChatAndNothingIsAcknowledged(t *testing.T) {
	hs := newMemStore()
	host, conn := startChat(t, "bob", "alice", hs, nil, nil)
	hs.mu.Lock()
	hs.failWrites = true
	hs.mu.Unlock()
	id, err := conn.send("will not be saved")
	require.NoError(t, err)
	e := waitFor[Ended](host, nil)
	assert.ErrorIs(t, e.Err, errHistoryFailed)
	assert.ErrorIs(t, e.Err, errDiskFull)
	waitFor(host, func(h HistoryError) bool { return h.Contact == e.Contact })
	waitFor[Ended](conn, nil)
	assert.Empty(t, eventsOf[Delivered](conn), "the sender must not see it delivered")
	require.Len(t, conn.s.box.Outbox(e.Contact), 0, "the host's key")
	var queued []string
	for _, m := range conn.s.box.Outbox("") {
		queued = append(queued, m.ID)
	}
	assert.Equal(t, []string{id}, queued, "it stays queued for the next link")
}

func TestSession_NoHistoryMeansNoChat(t *testing.T) {
	// BeginConversation fails (a full disk): the host does not let the
	// partner in, so nothing can be acknowledged without being stored.
	hs := newMemStore()
	hs.failConv = true
	h, err := Host(testConfig("bob", hs), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, true)
	c, err := Connect(testConfig("alice", nil), hostAddr(t, host))
	require.NoError(t, err)
	conn := watch(t, c, nil, true)
	e := waitFor[Ended](host, nil)
	assert.ErrorIs(t, e.Err, errHistoryFailed)
	waitFor[HistoryError](host, nil)
	waitFor[Ended](conn, nil)
	assert.Empty(t, eventsOf[Connected](conn))
	assert.Empty(t, eventsOf[Connected](host))
}

func TestSession_WiresharkExperiment(t *testing.T) {
	// The paper's experiment: record everything on the wire. The typed
	// text, the names and the identity keys never appear. (The terminal's
	// --plaintext demonstration shows the opposite: cli's tests.)
	const secret = "the eagle lands at midnight"
	var r *relay
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	hp := watch(t, h, nil, true)
	r = newRelay(t, hostAddr(t, hp))
	c, err := Connect(testConfig("alice", nil), r.addr())
	require.NoError(t, err)
	cp := watch(t, c, nil, true)
	waitFor[Connected](cp, nil)
	_, err = cp.send(secret)
	require.NoError(t, err)
	waitFor[MessageEvent](hp, nil)
	_, err = hp.send("reply: " + secret)
	require.NoError(t, err)
	waitFor(cp, func(e MessageEvent) bool { return !e.Message.Outgoing })
	wire := r.bytes()
	assert.False(t, bytes.Contains(wire, []byte(secret)), "secure mode leaks the text")
	assert.False(t, bytes.Contains(wire, []byte("eagle")))
	assert.False(t, bytes.Contains(wire, []byte("alice")), "secure mode leaks a name")
	assert.False(t, bytes.Contains(wire, []byte("bob")), "secure mode leaks a name")
	for _, who := range []string{"alice", "bob"} {
		der := testkeys.Identity(who).Public().Bytes()
		for i := 0; i+16 <= len(der); i++ {
			if bytes.Contains(wire, der[i:i+16]) {
				t.Fatalf("secure mode leaks 16 bytes of %s's identity key at offset %d", who, i)
			}
		}
	}
}

// nameGreeting is a Greeting for tests: each side sends its name in one
// frame, the initiator first, and records cross as they are.
type nameGreeting struct{}

type clearLayer struct{}

func (clearLayer) Seal(pt []byte) ([]byte, error)  { return append([]byte(nil), pt...), nil }
func (clearLayer) Open(rec []byte) ([]byte, error) { return rec, nil }

func (nameGreeting) Greet(conn *transport.Conn, initiator bool, name string) (RecordLayer, string, error) {
	if initiator {
		if err := conn.WriteFrame([]byte(name)); err != nil {
			return nil, "", err
		}
	}
	peer, err := conn.ReadFrame()
	if err != nil {
		return nil, "", err
	}
	if !initiator {
		if err := conn.WriteFrame([]byte(name)); err != nil {
			return nil, "", err
		}
	}
	return clearLayer{}, "greeted " + string(peer), nil
}

func TestSession_AGreetingStandsInForTheHandshake(t *testing.T) {
	hs := newMemStore()
	h, err := Host(Config{Name: "bob", Greeting: nameGreeting{}, Store: hs}, "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, true)
	c, err := Connect(Config{Name: "alice", Greeting: nameGreeting{}}, hostAddr(t, host))
	require.NoError(t, err)
	conn := watch(t, c, nil, true)
	p := waitFor[Connected](conn, nil).Partner
	assert.Equal(t, "greeted bob", p.Name)
	assert.Equal(t, "addr "+p.Addr, p.Fingerprint, "without a key, the address is the contact id")
	_, err = conn.send("hello")
	require.NoError(t, err)
	assert.Equal(t, "hello", waitFor[MessageEvent](host, nil).Message.Text)
	_, err = host.send("hi")
	require.NoError(t, err)
	waitFor[Delivered](host, nil)
	assert.Empty(t, hs.conversations(), "a greeted link has no history")
	assert.Empty(t, hs.Contacts(), "and makes no contact")
}

func TestSession_AGreetedPeerAndASecureHostRefuseEachOther(t *testing.T) {
	// A secure host answers a greeting's first frame as not SecureChat.
	host, addr := listenHost(t, testConfig("bob", nil))
	c, err := Connect(Config{Name: "alice", Greeting: nameGreeting{}}, addr)
	require.NoError(t, err)
	cp := watch(t, c, nil, true)
	waitFor[Ended](cp, nil)
	assert.ErrorIs(t, waitFor[Ended](host, nil).Err, scrypto.ErrNotSecureChat)
	assert.Empty(t, eventsOf[Connected](cp))
	assertStillServing(t, host, addr)
}

func TestSession_NoGoroutineOutlivesClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
		require.NoError(t, err)
		var addr string
		for e := range h.Events() {
			if l, ok := e.(Listening); ok {
				addr = l.Addr
				break
			}
		}
		c, err := Connect(testConfig("alice", nil), addr)
		require.NoError(t, err)
		drain := func(s *Session) chan struct{} {
			done := make(chan struct{})
			go func() {
				defer close(done)
				for e := range s.Events() {
					if r, ok := e.(Request); ok {
						_ = s.Accept(r.Partner.Fingerprint)
					}
				}
			}()
			return done
		}
		hd, cd := drain(h), drain(c)
		time.Sleep(200 * time.Millisecond)
		_, _ = c.Send(testkeys.Identity("bob").Public().Fingerprint(), "bye soon")
		require.NoError(t, c.Close())
		require.NoError(t, h.Close())
		<-hd
		<-cd
	}
	// A loop, not require.Eventually: testify runs the condition on a
	// goroutine of its own, which NumGoroutine would count.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	require.LessOrEqual(t, after, before, "goroutines before %d, after %d", before, after)
}

// olderClientHello is the ClientHello of a build that speaks protocol
// version v: version 1 by its layout (name and key in the clear after the
// ephemeral values), version 2 as today's with its version field (a
// version-2 chat layer has no Hello record 0x07, a version-3 one no file
// messages, and would fail on them after the handshake, so version 4
// refuses both before).
func olderClientHello(t *testing.T, v uint16) []byte {
	t.Helper()
	if v == 1 {
		hello := append([]byte{scrypto.TypeClientHello}, scrypto.Magic...)
		hello = binary.BigEndian.AppendUint16(hello, 1)
		hello = append(hello, make([]byte, 32+32+1184)...)
		id := testConfig("alice", nil).Identity.Public().Bytes()
		hello = binary.BigEndian.AppendUint16(hello, uint16(len(id)))
		return append(append(append(hello, id...), 5), "alice"...)
	}
	ini, err := scrypto.NewInitiator(scrypto.Config{Identity: testConfig("alice", nil).Identity, Name: "alice"})
	require.NoError(t, err)
	defer ini.Close()
	hello, err := ini.WriteClientHello()
	require.NoError(t, err)
	require.Equal(t, scrypto.ProtocolVersion, binary.BigEndian.Uint16(hello[1+len(scrypto.Magic):]))
	binary.BigEndian.PutUint16(hello[1+len(scrypto.Magic):], v)
	return hello
}

func TestSession_OlderPeersAreRefusedInTheHandshakeWithTheVersionAlert(t *testing.T) {
	for _, v := range []uint16{1, 2, 3} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			host, addr := listenHost(t, testConfig("bob", nil))
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write(transport.Frame(olderClientHello(t, v)))
			require.NoError(t, err)

			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			reply, err := transport.NewConn(c).ReadFrame()
			require.NoError(t, err)
			a, err := scrypto.ParseAlert(reply)
			require.NoError(t, err, "the answer is a cleartext alert the older build reads as its own")
			assert.Equal(t, scrypto.AlertVersion, a.Code)
			assert.Equal(t, fmt.Sprintf("your partner runs a newer SecureChat (protocol version 4, you run version %d); update SecureChat to chat with them", v), a.Reason)
			e := waitFor[Ended](host, nil)
			assert.Equal(t, EndVersion, e.Reason)
			assert.False(t, e.Connected)
			assert.ErrorIs(t, e.Err, scrypto.ErrVersion)
			assert.ErrorContains(t, e.Err, fmt.Sprintf("the partner runs an older SecureChat (protocol version %d)", v))
			c.Close()
			assertStillServing(t, host, addr)
		})
	}
}

func TestSession_VersionAlertFromAnOlderHostIsAVersionError(t *testing.T) {
	// A version 1 host answers our ClientHello with a cleartext Alert 3.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := transport.NewConn(c)
		if _, err := tc.ReadFrame(); err == nil {
			_ = tc.WriteFrame(scrypto.MarshalAlert(scrypto.Alert{Code: scrypto.AlertVersion, Reason: "unsupported protocol version"}))
		}
		time.Sleep(time.Second)
	}()
	s, err := Connect(testConfig("alice", nil), ln.Addr().String())
	require.NoError(t, err)
	p := watch(t, s, nil, true)
	e := waitFor[Ended](p, nil)
	assert.Equal(t, EndVersion, e.Reason)
	assert.ErrorIs(t, e.Err, scrypto.ErrVersion)
	assert.ErrorContains(t, e.Err, "the partner runs another SecureChat version")
}

func TestSession_CleartextAlertAfterTheHandshakeIsTamperingNotARefusal(t *testing.T) {
	// An attacker on the path injects a cleartext alert in place of the
	// client's first chat record: it must end the session as tampering and
	// its text must never be shown as the partner's.
	var r *relay
	host, conn := startChat(t, "bob", "alice", nil, nil, func(addr string) string {
		r = newRelay(t, addr)
		r.setHook(func(dir, n int, f []byte) [][]byte {
			if dir == 0 && n == 7 {
				return [][]byte{transport.Frame(scrypto.MarshalAlert(scrypto.Alert{Code: scrypto.AlertBusy, Reason: "send your password to mallory"}))}
			}
			return [][]byte{f}
		})
		return r.addr()
	})
	_, err := conn.send("hello")
	require.NoError(t, err)
	e := waitFor[Ended](host, nil)
	assert.ErrorIs(t, e.Err, scrypto.ErrRecordAuth)
	assert.Equal(t, EndSecurity, e.Reason)
	assert.NotContains(t, e.Peer, "mallory")
	assert.NotContains(t, e.Err.Error(), "mallory")
}
