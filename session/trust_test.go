package session

import (
	"bytes"
	"errors"
	"testing"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/internal/testkeys"
	"github.com/securechat/securechat/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invisible marks the lookalikes that are refused on the wire: names with
// zero-width or text-direction characters.
var invisible = map[string]bool{"Bob\u200b": true, "Bob\u202e": true}

// lookalikes are names an interceptor could use to pass for "Bob".
var lookalikes = map[string]string{
	"lower case":         "bob",
	"trailing space":     "Bob ",
	"zero-width space":   "Bob\u200b",
	"Cyrillic o":         "B\u043eb",
	"right-to-left mark": "Bob\u202e",
}

// knowsBob returns a store holding bob's real key as the contact "Bob",
// reached at addr.
func knowsBob(addr string) (*memStore, profile.Contact) {
	st := newMemStore()
	key := testkeys.Identity("bob").Public()
	bob := profile.Contact{ID: key.Fingerprint(), Key: key.Bytes(), Name: "Bob", TheirName: "Bob", FirstSeen: t0}
	if addr != "" {
		bob.Addrs = []string{addr}
	}
	_ = st.SaveContact(bob)
	return st, bob
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// impostor hosts as mallory's key under name and returns its address.
func impostor(t *testing.T, name string) string {
	cfg := testConfig("mallory", nil)
	cfg.Name = name
	h, err := Host(cfg, "127.0.0.1:0")
	require.NoError(t, err)
	return hostAddr(t, watch(t, h, nil, true))
}

func TestTrust_DialingBobReachesNoImpostorSilently(t *testing.T) {
	for what, name := range lookalikes {
		t.Run(what, func(t *testing.T) {
			for _, how := range []string{"picked from the contacts", "a recent address of Bob's"} {
				addr := impostor(t, name)
				st, bob := knowsBob("")
				target := Target{Addrs: []string{addr}, Contact: bob.ID}
				if how == "a recent address of Bob's" {
					st, _ = knowsBob(addr)
					target = Target{Addrs: []string{addr}}
				}
				c, err := ConnectTarget(testConfig("alice", st), target)
				require.NoError(t, err)
				alice := watch(t, c, st, true)
				e := alice.waitAny(func(e Event) bool {
					switch e.(type) {
					case Request, Ended:
						return true
					}
					return false
				})
				if invisible[name] {
					require.IsType(t, Ended{}, e, "%s: a name with invisible characters is refused in the handshake", how)
					assert.ErrorIs(t, e.(Ended).Err, scrypto.ErrMalformed)
				} else {
					require.IsType(t, Request{}, e)
					p := e.(Request).Partner
					assert.Equal(t, TrustChanged, p.Trust, "%s: another key answering for Bob is a changed key", how)
					assert.Equal(t, "Bob", p.Expected)
				}
				_ = c.Close()
			}
		})
	}
}

func TestTrust_HostFlagsAKeyUsingAContactsName(t *testing.T) {
	for what, name := range lookalikes {
		t.Run(what, func(t *testing.T) {
			st, _ := knowsBob("")
			h, err := Host(testConfig("alice", st), "127.0.0.1:0")
			require.NoError(t, err)
			host := watch(t, h, st, false)
			cfg := testConfig("mallory", nil)
			cfg.Name = name
			c, err := Connect(cfg, hostAddr(t, host))
			require.NoError(t, err)
			watch(t, c, nil, true)
			e := host.waitAny(func(e Event) bool {
				switch e.(type) {
				case Request, Ended:
					return true
				}
				return false
			})
			if invisible[name] {
				require.IsType(t, Ended{}, e, "a name with invisible characters is refused")
				assert.ErrorIs(t, e.(Ended).Err, scrypto.ErrMalformed)
			} else {
				require.IsType(t, Request{}, e)
				p := e.(Request).Partner
				assert.Equal(t, TrustNew, p.Trust)
				assert.Equal(t, "Bob", p.LooksLike, "the request is flagged as looking like Bob")
			}
			assert.Empty(t, eventsOf[Connected](host), "nothing connects without the user")
		})
	}
}

func TestTrust_AnHonestNewPersonGetsAPlainRequest(t *testing.T) {
	st, _ := knowsBob("")
	h, err := Host(testConfig("alice", st), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, st, false)
	carolCfg := testConfig("mallory", nil) // a key alice has never seen
	carolCfg.Name = "carol"
	c, err := Connect(carolCfg, hostAddr(t, host))
	require.NoError(t, err)
	watch(t, c, nil, true)
	p := waitFor[Request](host, nil).Partner
	assert.Equal(t, TrustNew, p.Trust)
	assert.Empty(t, p.LooksLike)
	assert.Empty(t, p.ContactName)
	require.NoError(t, h.Accept(p.Fingerprint))
	waitFor[Connected](host, nil)
	carol, ok := st.Contact(testkeys.Identity("mallory").Public().Fingerprint())
	require.True(t, ok, "once accepted, the key is a contact")
	assert.Equal(t, "carol", carol.Name)
}

func TestTrust_AContactIsKnownByKeyWhateverNameItSends(t *testing.T) {
	hs, cs := newMemStore(), newMemStore()
	host, conn := startChat(t, "bob", "alice", hs, cs, nil)
	addr := hostAddr(t, host)
	require.NoError(t, conn.disconnect())
	waitFor[Ended](host, nil)
	waitFor[Ended](conn, nil)
	// alice renames bob; bob reconnects under another name.
	bob, ok := cs.contactNamed("bob")
	require.True(t, ok)
	bob.Name = "Bob from work"
	require.NoError(t, cs.SaveContact(bob))

	c2, err := Connect(testConfig("alice", cs), addr)
	require.NoError(t, err)
	p2 := watch(t, c2, cs, true)
	e := waitFor[Connected](p2, nil)
	assert.Equal(t, TrustKnown, e.Partner.Trust)
	assert.Equal(t, "Bob from work", e.Partner.ContactName)
	assert.Equal(t, bob.ID, e.Partner.Fingerprint, "the contact id is stable")
	assert.Equal(t, TrustKnown, waitFor(host, func(e Connected) bool { return e.Partner.Trust == TrustKnown }).Partner.Trust)
	require.NoError(t, c2.MarkVerified(bob.ID))
	got, _ := cs.Contact(bob.ID)
	assert.True(t, got.Verified)
}

func TestTrust_OnlyContactsRefusesAStrangerBeforeRevealingItself(t *testing.T) {
	st, _ := knowsBob("")
	cfg := testConfig("alice", st)
	cfg.OnlyContacts = true
	h, err := Host(cfg, "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, st, true)
	addr := hostAddr(t, host)

	carolCfg := testConfig("mallory", nil)
	carolCfg.Name = "carol"
	c, err := Connect(carolCfg, addr)
	require.NoError(t, err)
	carol := watch(t, c, nil, true)
	e := waitFor[Ended](carol, nil)
	assert.ErrorIs(t, e.Err, ErrNotAdmitted)
	assert.Empty(t, eventsOf[Request](carol), "carol never learns who the host is")
	// The host is free for bob once it has reported the refusal: carol may
	// read the alert before the host's link is gone, and bob would be
	// told "busy".
	waitFor(host, func(e Ended) bool { return errors.Is(e.Err, ErrNotAdmitted) })

	c2, err := Connect(testConfig("bob", nil), addr)
	require.NoError(t, err)
	bob := watch(t, c2, nil, true)
	waitFor[Connected](bob, nil)
}

// inviting returns a host store holding one invite of bob's, and the
// target an invitee dials with it.
func inviting(t *testing.T, uses int, expires time.Time) (*memStore, func(addr string) Target) {
	st := newMemStore()
	secret := bytes.Repeat([]byte{0x5e}, 16)
	st.invites = append(st.invites, profile.Invite{Secret: secret, Created: t0, Expires: expires, Uses: uses})
	key := testkeys.Identity("bob").Public().Fingerprint()
	return st, func(addr string) Target {
		return Target{Addrs: []string{addr}, InviteKey: key, InviteSecret: secret, InviteExpires: expires}
	}
}

func TestInvite_AdmitsTheInviteeWithoutAskingOnBothSides(t *testing.T) {
	hs, target := inviting(t, 1, time.Now().Add(time.Hour))
	cfg := testConfig("bob", hs)
	cfg.OnlyContacts = true // an invitee is let in all the same
	h, err := Host(cfg, "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, false)
	addr := hostAddr(t, host)
	cs := newMemStore()
	c, err := ConnectTarget(testConfig("alice", cs), target(addr))
	require.NoError(t, err)
	conn := watch(t, c, cs, false)
	hr := waitFor[Request](host, nil).Partner
	cr := waitFor[Request](conn, nil).Partner
	assert.Equal(t, TrustInvited, hr.Trust, "the inviter knows the invitee proved the secret")
	assert.Equal(t, TrustInvited, cr.Trust, "the invitee reached the invite's key")
	assert.Equal(t, hr.SafetyNumber, cr.SafetyNumber)
	require.NoError(t, h.Accept(hr.Fingerprint))
	require.NoError(t, c.Accept(cr.Fingerprint))
	waitFor[Connected](conn, nil)
	waitFor[Connected](host, nil)
	alice, ok := hs.Contact(testkeys.Identity("alice").Public().Fingerprint())
	require.True(t, ok)
	assert.True(t, alice.Invited)
	assert.Equal(t, 1, hs.Invites()[0].Used, "the use is counted")

	// Used up: the next invitee is refused with a clear reason, and learns
	// nothing about the host.
	require.NoError(t, c.Disconnect(cr.Fingerprint))
	waitFor[Ended](host, nil)
	mcfg := testConfig("mallory", nil)
	m, err := ConnectTarget(mcfg, target(addr))
	require.NoError(t, err)
	mal := watch(t, m, nil, true)
	e := waitFor[Ended](mal, nil)
	assert.ErrorIs(t, e.Err, ErrInviteRefused)
	assert.Equal(t, EndInviteRefused, e.Reason)
	assert.Contains(t, e.Peer, "already used")
	assert.Empty(t, eventsOf[Request](mal))
}

func TestInvite_AnotherKeyAtTheInvitesAddressIsRefusedAsInterception(t *testing.T) {
	// Mallory answers at the address of bob's invite, and reveals her key
	// whatever invite is proved.
	mcfg := testConfig("mallory", newMemStore())
	mcfg.answerAnyInvite = true
	mh, err := Host(mcfg, "127.0.0.1:0")
	require.NoError(t, err)
	mal := watch(t, mh, nil, true)
	_, target := inviting(t, 1, time.Now().Add(time.Hour))
	c, err := ConnectTarget(testConfig("alice", newMemStore()), target(hostAddr(t, mal)))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	e := waitFor[Ended](alice, nil)
	assert.ErrorIs(t, e.Err, ErrWrongKey)
	assert.Equal(t, EndWrongKey, e.Reason)
	assert.Empty(t, eventsOf[Request](alice), "nothing goes further")
	assert.Empty(t, eventsOf[Connected](mal))
}

func TestInvite_ExpiredOrUnknownIsRefused(t *testing.T) {
	_, target := inviting(t, 1, time.Now().Add(-time.Minute))
	_, err := ConnectTarget(testConfig("alice", nil), target("127.0.0.1:9"))
	assert.ErrorIs(t, err, ErrInviteExpired, "an expired invite is not even dialed")

	// The host no longer knows the invite (cancelled, or expired there).
	hs := newMemStore()
	h, err := Host(testConfig("bob", hs), "127.0.0.1:0")
	require.NoError(t, err)
	host := watch(t, h, hs, true)
	_, target = inviting(t, 1, time.Now().Add(time.Hour))
	c, err := ConnectTarget(testConfig("alice", nil), target(hostAddr(t, host)))
	require.NoError(t, err)
	alice := watch(t, c, nil, true)
	e := waitFor[Ended](alice, nil)
	assert.ErrorIs(t, e.Err, ErrInviteRefused)
	assert.Equal(t, EndInviteRefused, e.Reason)
	assert.Contains(t, e.Peer, "not known here")
}
