package crypto

import (
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandshake_BothSidesDeriveTheSameChannel(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	require.NoError(t, runHandshake(ini, res, nil))
	assert.Equal(t, StateDone, ini.State())
	assert.Equal(t, StateDone, res.State())

	peer, name := ini.Peer()
	assert.Equal(t, "bob", name)
	assert.True(t, peer.Equal(testIdentity(t, "bob").Public()))
	peer, name = res.Peer()
	assert.Equal(t, "alice", name)
	assert.True(t, peer.Equal(testIdentity(t, "alice").Public()))
	assert.Equal(t, ini.TranscriptHash(), res.TranscriptHash())

	is, io, err := ini.Channel()
	require.NoError(t, err)
	rs, ro, err := res.Channel()
	require.NoError(t, err)
	rec, err := is.Seal([]byte("to bob"))
	require.NoError(t, err)
	pt, err := ro.Open(rec)
	require.NoError(t, err)
	assert.Equal(t, "to bob", string(pt))
	rec, err = rs.Seal([]byte("to alice"))
	require.NoError(t, err)
	pt, err = io.Open(rec)
	require.NoError(t, err)
	assert.Equal(t, "to alice", string(pt))
}

func TestHandshake_SecretsAreWipedWhenDone(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	require.NoError(t, runHandshake(ini, res, nil))
	for _, h := range []*Handshake{ini, res} {
		assert.Nil(t, h.secretOurs)
		assert.Nil(t, h.secretPeer)
		assert.Nil(t, h.sharedX25519)
		assert.Nil(t, h.sharedMLKEM)
		assert.Nil(t, h.x25519)
		assert.Nil(t, h.dk)
	}
}

func TestHandshake_EveryTamperedMessageIsRejected(t *testing.T) {
	// Flip one bit at spread-out offsets of each message in flight: the
	// handshake must fail, never succeed with a changed transcript.
	lengths := []int{}
	ini, res := newPair(t, "alice", "bob")
	require.NoError(t, runHandshake(ini, res, func(i int, m []byte) []byte {
		lengths = append(lengths, len(m))
		return m
	}))
	for msg, n := range lengths {
		offsets := []int{0, 1, n / 7, n / 3, n / 2, 2 * n / 3, n - 2, n - 1}
		for _, off := range offsets {
			ini, res := newPair(t, "alice", "bob")
			err := runHandshake(ini, res, func(i int, m []byte) []byte {
				if i == msg {
					m[off] ^= 0x01
				}
				return m
			})
			require.Error(t, err, "message %d byte %d flipped but the handshake succeeded", msg, off)
		}
	}
}

func TestHandshake_TruncatedAndExtendedMessagesAreMalformed(t *testing.T) {
	for msg := 0; msg < 4; msg++ {
		for _, change := range []string{"truncate", "extend"} {
			ini, res := newPair(t, "alice", "bob")
			err := runHandshake(ini, res, func(i int, m []byte) []byte {
				if i != msg {
					return m
				}
				if change == "truncate" {
					return m[:len(m)-1]
				}
				return append(m, 0)
			})
			require.ErrorIs(t, err, ErrMalformed, "message %d %s", msg, change)
		}
	}
}

func TestHandshake_ManInTheMiddleSeesDifferentSafetyNumbers(t *testing.T) {
	// Mallory relays between alice and bob, running her own handshake with
	// each. Both handshakes succeed, but the safety numbers that alice and bob
	// read to each other differ, and the keys they see are not each other's.
	aliceSide, mallory1 := newPair(t, "alice", "mallory")
	mallory1.cfg.Name = "bob" // she claims to be bob
	require.NoError(t, runHandshake(aliceSide, mallory1, nil))
	mallory2, bobSide := newPair(t, "mallory", "bob")
	mallory2.cfg.Name = "alice"
	require.NoError(t, runHandshake(mallory2, bobSide, nil))

	aPeer, aName := aliceSide.Peer()
	bPeer, _ := bobSide.Peer()
	assert.Equal(t, "bob", aName)
	assert.NotEqual(t,
		SafetyNumber(testIdentity(t, "alice").Public(), aPeer),
		SafetyNumber(bPeer, testIdentity(t, "bob").Public()))
	assert.False(t, aPeer.Equal(testIdentity(t, "bob").Public()))
}

func TestHandshake_RelayThatSwapsKeysCannotAuthenticate(t *testing.T) {
	// A relay that forwards the real messages but puts its own identity key
	// in a hello cannot produce the signature that goes with it.
	mallory := testIdentity(t, "mallory").Public().Bytes()
	bobKey := testIdentity(t, "bob").Public().Bytes()
	aliceKey := testIdentity(t, "alice").Public().Bytes()
	for name, tf := range map[string]tamper{
		"client hello": func(i int, m []byte) []byte {
			if i == 0 {
				return replace(m, aliceKey, mallory)
			}
			return m
		},
		"server hello": func(i int, m []byte) []byte {
			if i == 1 {
				return replace(m, bobKey, mallory)
			}
			return m
		},
	} {
		t.Run(name, func(t *testing.T) {
			ini, res := newPair(t, "alice", "bob")
			err := runHandshake(ini, res, tf)
			require.ErrorIs(t, err, ErrAuthFailed)
		})
	}
}

func replace(m, old, new []byte) []byte {
	for i := 0; i+len(old) <= len(m); i++ {
		if string(m[i:i+len(old)]) == string(old) {
			return append(append(append([]byte{}, m[:i]...), new...), m[i+len(old):]...)
		}
	}
	panic("not found")
}

func TestHandshake_CallsOutOfOrderFailWithoutAdvancing(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	_, err := ini.WriteClientAuth()
	require.ErrorContains(t, err, "unexpected call to WriteClientAuth in state handshakeStart")
	_, err = res.WriteClientHello()
	require.ErrorContains(t, err, "not a responder call")
	_, _, err = res.WriteServerAuth()
	require.Error(t, err)
	_, _, err = res.Channel()
	require.Error(t, err)

	m1, err := ini.WriteClientHello()
	require.NoError(t, err)
	// A garbage read leaves the responder where it was; the real message then works.
	require.Error(t, res.ReadClientHello([]byte("GET / HTTP/1.1\r\n")))
	assert.Equal(t, StateStart, res.State())
	require.NoError(t, res.ReadClientHello(m1))
	assert.Equal(t, StateClientHelloReceived, res.State())
	require.Error(t, res.ReadClientHello(m1))
}

func TestHandshake_StrangersAreToldApart(t *testing.T) {
	res, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "bob"})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		msg  []byte
		want error
	}{
		"http request":     {[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNotSecureChat},
		"tls client hello": {[]byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03}, ErrNotSecureChat},
		"plaintext peer":   {MarshalPlainHello(), ErrPlaintextPeer},
		"empty":            {nil, ErrNotSecureChat},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, res.ReadClientHello(tc.msg), tc.want)
		})
	}
}

func TestHandshake_AlertIsReportedAsThePeersReason(t *testing.T) {
	ini, _ := newPair(t, "alice", "bob")
	_, err := ini.WriteClientHello()
	require.NoError(t, err)
	err = ini.ReadServerHello(MarshalAlert(Alert{Code: AlertBusy, Reason: "busy: bob is already in a chat"}))
	var a *Alert
	require.True(t, errors.As(err, &a))
	assert.Equal(t, AlertBusy, a.Code)
	assert.Contains(t, err.Error(), "busy: bob is already in a chat")
}

func TestHandshake_OtherVersionIsRefused(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	m1, err := ini.WriteClientHello()
	require.NoError(t, err)
	m1[1+len(Magic)+1] = 2 // version 2
	require.ErrorIs(t, res.ReadClientHello(m1), ErrVersion)
}

func TestSafetyNumber_IsSymmetricAndWellFormed(t *testing.T) {
	a, b := testIdentity(t, "alice").Public(), testIdentity(t, "bob").Public()
	sn := SafetyNumber(a, b)
	assert.Equal(t, sn, SafetyNumber(b, a))
	assert.Regexp(t, regexp.MustCompile(`^(\d{5} ){11}\d{5}$`), sn)
	assert.NotEqual(t, sn, SafetyNumber(a, testIdentity(t, "mallory").Public()))
	assert.Contains(t, sn, SafetyHalf(a))
	assert.Contains(t, sn, SafetyHalf(b))
}

func TestIdentity_RoundTripsAndRejectsOtherKeys(t *testing.T) {
	id := testIdentity(t, "alice")
	der, err := id.MarshalPrivate()
	require.NoError(t, err)
	back, err := ParseIdentity(der)
	require.NoError(t, err)
	assert.True(t, back.Public().Equal(id.Public()))
	assert.Len(t, id.Public().Fingerprint(), 64)

	_, err = ParseIdentity([]byte("not a key"))
	require.ErrorIs(t, err, ErrBadIdentityKey)
	_, err = ParsePublicIdentity(der[:20])
	require.ErrorIs(t, err, ErrBadIdentityKey)
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "Zoë 🙂": true, "": false, "a\x1b[31m": false,
		string(make([]byte, 65)): false, "\xff": false,
	} {
		assert.Equal(t, ok, CheckName(name) == nil, "%q", name)
	}
}
