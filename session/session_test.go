package session

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/securechat/securechat/internal/testkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSession_ChatsBothWaysWithDeliveryAndHistory(t *testing.T) {
	hs, cs := newMemStore(), newMemStore()
	host, conn := startChat(t, "bob", "alice", hs, cs, nil)

	c := waitFor[Connected](conn, nil).Partner
	h := waitFor[Connected](host, nil).Partner
	assert.Equal(t, "bob", c.Name)
	assert.Equal(t, "alice", h.Name)
	assert.Equal(t, c.SafetyNumber, h.SafetyNumber, "both sides must see the same safety number")
	assert.Equal(t, TrustNew, c.Trust, "a key seen for the first time is new")
	assert.Equal(t, TrustNew, h.Trust)

	id, err := conn.send("hello bob")
	require.NoError(t, err)
	sent := waitFor(conn, func(e MessageEvent) bool { return e.Message.Outgoing }).Message
	assert.Equal(t, id, sent.ID)
	got := waitFor[MessageEvent](host, nil).Message
	assert.Equal(t, "hello bob", got.Text)
	assert.Equal(t, "alice", got.From)
	assert.False(t, got.Outgoing)
	waitFor(conn, func(e Delivered) bool { return e.ID == id })

	// The wire bytes both sides report are the same sealed record, and the
	// text is not in them.
	assert.Equal(t, sent.Wire, got.Wire)
	assert.False(t, bytes.Contains(got.Wire, []byte("hello bob")))

	id2, err := host.send("hi alice")
	require.NoError(t, err)
	assert.Equal(t, "hi alice", waitFor(conn, func(e MessageEvent) bool { return !e.Message.Outgoing }).Message.Text)
	waitFor(host, func(e Delivered) bool { return e.ID == id2 })

	// Each side's conversation holds the message it received; what it sent
	// is in its outbox, delivered.
	require.Len(t, hs.conversations(), 1)
	require.Len(t, cs.conversations(), 1)
	assert.Equal(t, "alice", hs.conversations()[0].meta.Partner)
	assert.Equal(t, "host", hs.conversations()[0].meta.Role)
	assert.Equal(t, "connect", cs.conversations()[0].meta.Role)
	require.Len(t, hs.conversations()[0].messages(), 1)
	assert.Empty(t, hs.Outbox(""), "delivered")
	assert.Empty(t, cs.Outbox(""), "delivered")

	require.NoError(t, conn.disconnect())
	waitFor(host, func(e Ended) bool { return e.Reason == EndPartnerLeft && e.Connected })
	waitFor(conn, func(e Ended) bool { return e.Reason == EndWeLeft && e.Connected })
}

func TestSession_SendRulesAreEnforced(t *testing.T) {
	host, conn := startChat(t, "bob", "alice", nil, nil, nil)
	_ = host
	for text, want := range map[string]error{
		"":                                     ErrEmpty,
		strings.Repeat("x", MaxMessageBytes+1): ErrTooLong,
		"\xff\xfe":                             ErrInvalidText,
	} {
		_, err := conn.send(text)
		assert.ErrorIs(t, err, want)
	}
	_, err := conn.send(strings.Repeat("é", MaxMessageBytes/2))
	require.NoError(t, err, "a body of exactly 64 KiB is allowed")
	waitFor[MessageEvent](host, nil)
}

func TestSession_NotConnectedRefusesToSend(t *testing.T) {
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	watch(t, h, nil, true)
	_, err = h.Send(testkeys.Identity("alice").Public().Fingerprint(), "anyone?")
	require.ErrorIs(t, err, ErrNotConnected)
}

func TestSession_MessageSentTheMomentThePartnerIsConnectedArrives(t *testing.T) {
	// The host accepts at once and speaks first, while the connecting side
	// is still slowly pinning the key and opening its history.
	slow := newMemStore()
	slow.delay = 300 * time.Millisecond
	h, err := Host(testConfig("bob", nil), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	c, err := Connect(testConfig("alice", slow), hostAddr(t, host))
	require.NoError(t, err)
	conn := watch(t, c, slow, true)
	waitFor[Connected](host, nil)
	_, err = host.send("welcome")
	require.NoError(t, err)
	assert.Equal(t, "welcome", waitFor[MessageEvent](conn, nil).Message.Text)
	assert.Empty(t, eventsOf[Ended](conn))
}
