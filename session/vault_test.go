package session

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/securechat/securechat/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var cheap = history.Params{Time: 1, MemoryKiB: 1024, Threads: 1}

func TestSession_WritesARealVaultHistoryOnBothSides(t *testing.T) {
	dir := t.TempDir()
	hv, err := history.CreateWith(filepath.Join(dir, "bob"), "bob", []byte("pass-bob"), cheap)
	require.NoError(t, err)
	defer hv.Close()
	cv, err := history.CreateWith(filepath.Join(dir, "alice"), "alice", []byte("pass-alice"), cheap)
	require.NoError(t, err)
	defer cv.Close()

	h, err := Host(Config{Identity: hv.Identity(), Name: "bob", Store: hv}, "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, nil, true)
	c, err := Connect(Config{Identity: cv.Identity(), Name: "alice", Store: cv}, hostAddr(t, host))
	require.NoError(t, err)
	conn := watch(t, c, nil, true)
	start := time.Now()
	waitFor[Connected](conn, nil)
	waitFor[Connected](host, nil)
	t.Logf("connected in %v", time.Since(start))

	id, err := conn.send("hello bob")
	require.NoError(t, err)
	_, err = host.send("hello alice")
	require.NoError(t, err)
	waitFor(conn, func(e Delivered) bool { return e.ID == id })
	waitFor(conn, func(e MessageEvent) bool { return !e.Message.Outgoing })
	require.NoError(t, c.Close())
	waitFor[Ended](host, nil)

	for _, v := range []*history.Vault{hv, cv} {
		sums, err := v.Conversations()
		require.NoError(t, err)
		require.Len(t, sums, 1)
		tr, err := v.Load(sums[0].ID)
		require.NoError(t, err)
		require.Len(t, tr.Messages, 1, "the message received; the one sent is in the outbox")
		th, err := v.Thread(sums[0].Fingerprint)
		require.NoError(t, err)
		require.Len(t, th.Messages, 2)
		hits, err := v.Search("HELLO")
		require.NoError(t, err)
		assert.Len(t, hits, 2)
	}
	bob, ok := cv.Contact(hv.Identity().Public().Fingerprint())
	require.True(t, ok, "alice keeps bob's key as a contact")
	assert.Equal(t, "bob", bob.Name)
	assert.Equal(t, hv.Identity().Public().Bytes(), bob.Key)
	assert.NotEmpty(t, bob.Addrs, "the address alice dialed is remembered")
	alice, ok := hv.Contact(cv.Identity().Public().Fingerprint())
	require.True(t, ok)
	assert.Equal(t, "alice", alice.TheirName)
	assert.Empty(t, alice.Addrs, "a caller's source port is no address to dial")
}
