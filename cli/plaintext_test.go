package cli

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/securechat/securechat/internal/testkeys"
	"github.com/securechat/securechat/session"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder forwards one TCP connection to target and keeps every byte
// that crosses it, as a network capture would.
type recorder struct {
	ln  net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func record(t *testing.T, target string) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &recorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		go r.pump(s, c)
		r.pump(c, s)
	}()
	return r
}

func (r *recorder) pump(to, from net.Conn) {
	defer to.Close()
	// Recorded before it is forwarded: what a side has received is in
	// the capture.
	_, _ = io.Copy(io.MultiWriter(r, to), from)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// follow reads s's events, as a front end that accepts every request,
// and hands them on.
func follow(s *session.Session) <-chan session.Event {
	c := make(chan session.Event, 1024)
	go func() {
		defer close(c)
		for e := range s.Events() {
			if r, ok := e.(session.Request); ok {
				_ = s.Accept(r.Partner.Fingerprint)
			}
			c <- e
		}
	}()
	return c
}

// next returns the next event of type T from events.
func next[T session.Event](t *testing.T, events <-chan session.Event) T {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e, ok := <-events:
			require.True(t, ok, "the session closed")
			if x, ok := e.(T); ok {
				return x
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T event", zero)
			return zero
		}
	}
}

func plainConfig(name string) session.Config {
	return session.Config{Name: name, Greeting: plaintextGreeting{}}
}

func secureConfig(name string) session.Config {
	return session.Config{Name: name, Identity: testkeys.Identity(name)}
}

func TestPlaintext_ACaptureSeesTheTextAndTheNames(t *testing.T) {
	const secret = "the eagle lands at midnight"
	h, err := session.Host(plainConfig("bob"), "127.0.0.1:0")
	require.NoError(t, err)
	defer h.Close()
	he := follow(h)
	r := record(t, next[session.Listening](t, he).Addr)
	c, err := session.Connect(plainConfig("alice"), r.ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	ce := follow(c)
	p := next[session.Connected](t, ce).Partner
	assert.Equal(t, "bob (unencrypted)", p.Name)
	_, err = c.Send(p.Fingerprint, secret)
	require.NoError(t, err)
	got := next[session.MessageEvent](t, he)
	assert.Equal(t, secret, got.Message.Text)
	assert.Equal(t, "alice (unencrypted)", got.Message.From)
	wire := r.bytes()
	assert.True(t, bytes.Contains(wire, []byte(secret)), "the demonstration shows the text on the wire")
	assert.True(t, bytes.Contains(wire, []byte("alice")) && bytes.Contains(wire, []byte("bob")), "and both names")
}

func TestPlaintext_AndSecurePeersRefuseEachOther(t *testing.T) {
	for _, hostPlain := range []bool{false, true} {
		hcfg, ccfg := secureConfig("bob"), plainConfig("alice")
		if hostPlain {
			hcfg, ccfg = plainConfig("bob"), secureConfig("alice")
		}
		h, err := session.Host(hcfg, "127.0.0.1:0")
		require.NoError(t, err)
		he := follow(h)
		c, err := session.Connect(ccfg, next[session.Listening](t, he).Addr)
		require.NoError(t, err)
		e := next[session.Ended](t, follow(c))
		assert.Equal(t, session.EndNotSecureChat, e.Reason, "plain host %v", hostPlain)
		assert.Contains(t, e.Peer, "plaintext", "the partner says why")
		assert.False(t, e.Connected)
		assert.ErrorContains(t, next[session.Ended](t, he).Err, "plaintext")
		require.NoError(t, c.Close())
		require.NoError(t, h.Close())
	}
}

func TestPlaintext_HelloRoundTripsAndMalformedOnesFail(t *testing.T) {
	for _, name := range []string{"a", "alice", string(bytes.Repeat([]byte("é"), 40))} {
		got, err := parsePlainHello(marshalPlainHello(name))
		require.NoError(t, err)
		assert.LessOrEqual(t, len(got), 64)
		assert.True(t, bytes.HasPrefix([]byte(name), []byte(got)), "a long name is cut at a character boundary")
	}
	hello := marshalPlainHello("alice")
	for what, b := range map[string][]byte{
		"short":     hello[:len(hello)-1],
		"long":      append(bytes.Clone(hello), 'x'),
		"no name":   hello[:len(hello)-6],
		"bad utf-8": append(hello[:len(hello)-6:len(hello)-6], 1, 0xff),
		"not hello": []byte("GET / HTTP/1.1"),
	} {
		_, err := parsePlainHello(b)
		assert.Error(t, err, what)
	}
}
