package session

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/internal/testkeys"
)

// halfOpen opens a connection from src to addr, sends a genuine
// ClientHello and then says nothing more: a handshake left hanging.
func halfOpen(t *testing.T, src, addr string) net.Conn {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Logf("flood dial: %v", err)
		return nil
	}
	h, err := scrypto.NewInitiator(scrypto.Config{Identity: testkeys.Identity("mallory"), Name: "flood"})
	require.NoError(t, err)
	hello, err := h.WriteClientHello()
	require.NoError(t, err)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(hello)))
	_, _ = conn.Write(append(frame, hello...))
	return conn
}

func TestFlood_HalfOpenHandshakesDoNotKeepAContactOut(t *testing.T) {
	hs := newMemStore()
	h, err := Host(testConfig("bob", hs), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, true)
	_, port, _ := net.SplitHostPort(hostAddr(t, host))

	// One address (127.0.0.2) opens a silent ClientHello every 200 ms.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if c := halfOpen(t, "127.0.0.2", net.JoinHostPort("127.0.0.1", port)); c != nil {
				conns = append(conns, c)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(time.Second) // the flood is under way

	// An honest contact tries once a second; every attempt gets in.
	const attempts = 6
	aliceID := testkeys.Identity("alice").Public().Fingerprint()
	got := 0
	for i := range attempts {
		start := time.Now()
		cs := newMemStore()
		c, err := Connect(testConfig("alice", cs), net.JoinHostPort("127.0.0.1", port))
		require.NoError(t, err)
		alice := watch(t, c, cs, true)
		e := alice.waitAny(func(e Event) bool {
			switch e.(type) {
			case Connected, Ended:
				return true
			}
			return false
		})
		if _, ok := e.(Connected); ok {
			got++
		} else {
			t.Logf("attempt %d: %s", i, alice.kinds())
		}
		require.NoError(t, c.Close())
		require.Eventually(t, func() bool {
			ended := 0
			for _, d := range eventsOf[Ended](host) {
				if d.Contact == aliceID && d.Connected {
					ended++
				}
			}
			return ended >= got
		}, 20*time.Second, 10*time.Millisecond)
		time.Sleep(time.Second - time.Since(start))
	}
	assert.GreaterOrEqual(t, float64(got)/attempts, 0.95, "%d of %d attempts got in during the flood", got, attempts)
}

func TestFlood_AChatInProgressSeesNothing(t *testing.T) {
	host, conn := startChat(t, "bob", "alice", nil, nil, nil)
	_, port, _ := net.SplitHostPort(hostAddr(t, host))
	for range 20 {
		if c := halfOpen(t, "127.0.0.2", net.JoinHostPort("127.0.0.1", port)); c != nil {
			defer c.Close()
		}
	}
	id, err := conn.send("still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", waitFor[MessageEvent](host, nil).Message.Text)
	waitFor(conn, func(e Delivered) bool { return e.ID == id })
	for _, e := range conn.all() {
		switch e.(type) {
		case Handshaking, Request, Connected, Queued, MessageEvent, Delivered, Waiting:
		default:
			t.Errorf("the contact sees only its own chat; saw %T", e)
		}
	}
}
