package crypto

import (
	"bytes"
	gocrypto "crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/cryptotest"

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
	assert.Len(t, ini.TranscriptHash(), 32)

	is, io, err := ini.Channel()
	require.NoError(t, err)
	rs, ro, err := res.Channel()
	require.NoError(t, err)
	// Application records continue at sequence 1 after each Finished.
	rec, err := is.Seal([]byte("to bob"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), binary.BigEndian.Uint64(rec[1:9]))
	pt, err := ro.Open(rec)
	require.NoError(t, err)
	assert.Equal(t, "to bob", string(pt))
	rec, err = rs.Seal([]byte("to alice"))
	require.NoError(t, err)
	pt, err = io.Open(rec)
	require.NoError(t, err)
	assert.Equal(t, "to alice", string(pt))

	// Close after Done wipes and leaves the channel usable.
	ini.Close()
	ini.Close()
	_, _, err = ini.Channel()
	require.NoError(t, err)
}

// secretFields returns every secret byte slice the handshake holds now.
func secretFields(h *Handshake) map[string][]byte {
	return map[string][]byte{
		"secretOurs": h.secretOurs, "secretPeer": h.secretPeer,
		"sharedX25519": h.sharedX25519, "sharedMLKEM": h.sharedMLKEM,
		"inviteSecret": h.cfg.InviteSecret,
	}
}

func assertWiped(t *testing.T, h *Handshake, held map[string][]byte) {
	t.Helper()
	for name, b := range held {
		if b == nil {
			continue
		}
		assert.Equal(t, make([]byte, len(b)), b, "%s was not zeroed", name)
	}
	for name, b := range secretFields(h) {
		assert.Nil(t, b, "%s still set", name)
	}
	assert.Nil(t, h.x25519)
	assert.Nil(t, h.dk)
	assert.Nil(t, h.hsSealer)
	assert.Nil(t, h.hsOpener)
	assert.Nil(t, h.peerSecret)
}

func TestHandshake_SecretsAreWipedWhenDone(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	require.NoError(t, runHandshake(ini, res, nil))
	assertWiped(t, ini, nil)
	assertWiped(t, res, nil)
}

func TestHandshake_CloseWipesSecretsAfterAFailure(t *testing.T) {
	// Fail at every step of the way (a flipped bit in each frame); then
	// Close must leave nothing secret behind on either side, including the
	// bytes held before.
	for msg := 0; msg < frameCount; msg++ {
		ini, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "alice", InviteSecret: []byte("invite secret")})
		require.NoError(t, err)
		res, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "bob"})
		require.NoError(t, err)
		err = runHandshake(ini, res, func(i int, m []byte) []byte {
			if i == msg {
				m[len(m)-1] ^= 1
			}
			return m
		})
		require.Error(t, err, "frame %d", msg)
		hi, hr := secretFields(ini), secretFields(res)
		ini.Close()
		res.Close()
		ini.Close() // twice is fine
		assert.Equal(t, StateClosed, ini.State())
		if msg == frameCount-1 {
			// The responder was done before its Finished was damaged.
			assert.Equal(t, StateDone, res.State())
		} else {
			assert.Equal(t, StateClosed, res.State())
		}
		assertWiped(t, ini, hi)
		assertWiped(t, res, hr)
		_, err = ini.WriteAlert(Alert{Code: AlertInternal})
		require.Error(t, err, "a closed handshake writes nothing")
	}
}

func TestHandshake_EveryTamperedFrameIsRejected(t *testing.T) {
	// Flip one bit at spread-out offsets of each frame in flight: the
	// handshake must fail, never succeed with a changed transcript.
	ini, res := newPair(t, "alice", "bob")
	frames, err := runHandshakeFrames(ini, res, nil)
	require.NoError(t, err)
	require.Len(t, frames, frameCount)
	for msg, f := range frames {
		n := len(f)
		for _, off := range []int{0, 1, 9, n / 7, n / 3, n / 2, 2 * n / 3, n - 17, n - 2, n - 1} {
			ini, res := newPair(t, "alice", "bob")
			err := runHandshake(ini, res, func(i int, m []byte) []byte {
				if i == msg {
					m[off] ^= 0x01
				}
				return m
			})
			require.Error(t, err, "frame %d byte %d flipped but the handshake succeeded", msg, off)
		}
	}
}

func TestHandshake_TamperedRecordsAreAuthenticationFailures(t *testing.T) {
	for msg := 2; msg < frameCount; msg++ {
		for _, change := range []string{"flip", "truncate", "extend"} {
			ini, res := newPair(t, "alice", "bob")
			err := runHandshake(ini, res, func(i int, m []byte) []byte {
				if i != msg {
					return m
				}
				switch change {
				case "flip":
					m[len(m)/2] ^= 0x80
				case "truncate":
					return m[:len(m)-1]
				default:
					return append(m, 0)
				}
				return m
			})
			require.ErrorIs(t, err, ErrAuthFailed, "frame %d %s", msg, change)
			require.ErrorIs(t, err, ErrRecordAuth, "frame %d %s", msg, change)
		}
	}
}

func TestHandshake_TruncatedAndExtendedHellosAreMalformed(t *testing.T) {
	for msg := 0; msg < 2; msg++ {
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

func TestHandshake_AllZeroX25519ShareFails(t *testing.T) {
	const off = 1 + len(Magic) + 2 + RandomSize
	for _, msg := range []int{0, 1} {
		ini, res := newPair(t, "alice", "bob")
		err := runHandshake(ini, res, func(i int, m []byte) []byte {
			if i == msg {
				clear(m[off : off+X25519Size])
			}
			return m
		})
		require.ErrorIs(t, err, ErrMalformed, "message %d", msg)
	}
}

func TestHandshake_PassiveCaptureShowsNoNameAndNoIdentity(t *testing.T) {
	ini, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "Alice Liddell", InviteSecret: []byte("invite secret")})
	require.NoError(t, err)
	res, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "Bob Dylan"})
	require.NoError(t, err)
	frames, err := runHandshakeFrames(ini, res, nil)
	require.NoError(t, err)
	capture := bytes.Join(frames, nil)
	for _, name := range []string{"Alice Liddell", "Bob Dylan", "invite secret"} {
		assert.NotContains(t, string(capture), name)
	}
	for _, who := range []string{"alice", "bob"} {
		der := testIdentity(t, who).Public().Bytes()
		for i := 0; i+16 <= len(der); i++ {
			require.False(t, bytes.Contains(capture, der[i:i+16]), "%s's identity bytes %d..%d are in the clear", who, i, i+16)
		}
	}
	// What is in the clear: the protocol family and version.
	assert.True(t, bytes.HasPrefix(frames[0], []byte("\x01SecChat1\x00\x04")))
	assert.True(t, bytes.HasPrefix(frames[1], []byte("\x02SecChat1\x00\x04")))
}

func TestHandshake_ManInTheMiddleSeesDifferentIdentities(t *testing.T) {
	// Mallory answers at bob's address and runs her own handshake with each
	// side. Both complete, but alice sees mallory's key, not bob's, and the
	// safety numbers the two read to each other differ.
	aliceSide, mallory1 := newPair(t, "alice", "mallory")
	mallory1.cfg.Name = "bob" // she claims to be bob
	require.NoError(t, runHandshake(aliceSide, mallory1, nil))
	mallory2, bobSide := newPair(t, "mallory", "bob")
	mallory2.cfg.Name = "alice"
	require.NoError(t, runHandshake(mallory2, bobSide, nil))

	aPeer, aName := aliceSide.Peer()
	bPeer, _ := bobSide.Peer()
	assert.Equal(t, "bob", aName)
	assert.False(t, aPeer.Equal(testIdentity(t, "bob").Public()))
	assert.False(t, bPeer.Equal(testIdentity(t, "alice").Public()))
	assert.NotEqual(t,
		SafetyNumber(testIdentity(t, "alice").Public(), aPeer),
		SafetyNumber(bPeer, testIdentity(t, "bob").Public()))
}

func TestHandshake_RelayThatForwardsIdentitiesCannotAuthenticate(t *testing.T) {
	// Mallory runs her own key exchange with each side and re-seals the
	// real identities and signatures under her keys: the signatures cover
	// the transcripts, which differ, so they fail.
	t.Run("initiator's identity to bob", func(t *testing.T) {
		alice, malloryR := newPair(t, "alice", "mallory")
		malloryI, bob := newPair(t, "mallory", "bob")
		hello(t, alice, malloryR)
		hello(t, malloryI, bob)
		recs, err := alice.WriteClientIdentity()
		require.NoError(t, err)
		for i, rec := range recs {
			pt, err := malloryR.hsOpener.Open(rec)
			require.NoError(t, err)
			recs[i], err = malloryI.hsSealer.Seal(pt)
			require.NoError(t, err)
		}
		require.NoError(t, bob.ReadClientIdentity(recs[0]))
		require.ErrorIs(t, bob.ReadClientVerify(recs[1]), ErrAuthFailed)
		peer, _ := bob.Peer()
		assert.Nil(t, peer)
	})
	t.Run("responder's identity to alice", func(t *testing.T) {
		alice, malloryR := newPair(t, "alice", "mallory")
		malloryI, bob := newPair(t, "mallory", "bob")
		malloryI.cfg.Identity = testIdentity(t, "alice") // even with alice's own key to bob
		hello(t, alice, malloryR)
		hello(t, malloryI, bob)
		recs, err := alice.WriteClientIdentity()
		require.NoError(t, err)
		require.NoError(t, malloryR.ReadClientIdentity(recs[0]))
		require.NoError(t, malloryR.ReadClientVerify(recs[1]))
		recs, err = malloryI.WriteClientIdentity()
		require.NoError(t, err)
		require.NoError(t, bob.ReadClientIdentity(recs[0]))
		require.NoError(t, bob.ReadClientVerify(recs[1]))
		recs, err = bob.WriteServerIdentity()
		require.NoError(t, err)
		for i, rec := range recs {
			pt, err := malloryI.hsOpener.Open(rec)
			require.NoError(t, err)
			recs[i], err = malloryR.hsSealer.Seal(pt)
			require.NoError(t, err)
		}
		require.NoError(t, alice.ReadServerIdentity(recs[0]))
		require.ErrorIs(t, alice.ReadServerVerify(recs[1]), ErrAuthFailed)
		peer, _ := alice.Peer()
		assert.Nil(t, peer)
	})
}

// hello runs the two cleartext hellos.
func hello(t *testing.T, ini, res *Handshake) {
	t.Helper()
	m1, err := ini.WriteClientHello()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientHello(m1))
	m2, err := res.WriteServerHello()
	require.NoError(t, err)
	require.NoError(t, ini.ReadServerHello(m2))
}

func TestHandshake_ResponderRefusesBeforeRevealingItself(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	hello(t, ini, res)
	recs, err := ini.WriteClientIdentity()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientIdentity(recs[0]))
	require.NoError(t, res.ReadClientVerify(recs[1]))
	peer, _ := res.Peer()
	require.True(t, peer.Equal(testIdentity(t, "alice").Public()))

	refusal, err := res.WriteAlert(Alert{Code: AlertNotAdmitted, Reason: "this host admits only its contacts"})
	require.NoError(t, err)
	assert.Equal(t, TypeRecord, refusal[0], "the refusal is sealed")
	assert.Equal(t, StateClosed, res.State())
	assert.NotContains(t, string(refusal), "contacts")

	err = ini.ReadServerIdentity(refusal)
	var a *Alert
	require.True(t, errors.As(err, &a), "got %v", err)
	assert.Equal(t, AlertNotAdmitted, a.Code)
	assert.Equal(t, "this host admits only its contacts", a.Reason)
	peer, name := ini.Peer()
	assert.Nil(t, peer)
	assert.Empty(t, name)
	assert.Equal(t, StateClientIdentitySent, ini.State())
}

func TestHandshake_InitiatorAbortsOnAnUnexpectedKey(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	hello(t, ini, res)
	recs, err := ini.WriteClientIdentity()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientIdentity(recs[0]))
	require.NoError(t, res.ReadClientVerify(recs[1]))
	recs, err = res.WriteServerIdentity()
	require.NoError(t, err)
	require.NoError(t, ini.ReadServerIdentity(recs[0]))
	require.NoError(t, ini.ReadServerVerify(recs[1]))
	abort, err := ini.WriteAlert(Alert{Code: AlertWrongKey, Reason: "unexpected key"})
	require.NoError(t, err)
	err = res.ReadClientKey(abort)
	var a *Alert
	require.True(t, errors.As(err, &a), "got %v", err)
	assert.Equal(t, AlertWrongKey, a.Code)
}

func TestHandshake_AlertInPlaceOfFinishedIsReported(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	hello(t, ini, res)
	recs, err := ini.WriteClientIdentity()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientIdentity(recs[0]))
	require.NoError(t, res.ReadClientVerify(recs[1]))
	recs, err = res.WriteServerIdentity()
	require.NoError(t, err)
	require.NoError(t, ini.ReadServerIdentity(recs[0]))
	require.NoError(t, ini.ReadServerVerify(recs[1]))
	recs, err = ini.WriteClientKey()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientKey(recs[0]))
	// The responder fails on the Finished (here: it never arrives) and
	// answers with an alert; the initiator reads it in place of Finished.
	a, err := res.WriteAlert(Alert{Code: AlertAuthFailed, Reason: "authentication failed"})
	require.NoError(t, err)
	err = ini.ReadFinished(a)
	var got *Alert
	require.True(t, errors.As(err, &got), "got %v", err)
	assert.Equal(t, AlertAuthFailed, got.Code)
}

func TestHandshake_CleartextAlertAfterHandshakeKeysIsTampering(t *testing.T) {
	forged := MarshalAlert(Alert{Code: AlertBusy, Reason: "forged by an attacker"})
	t.Run("responder", func(t *testing.T) {
		ini, res := newPair(t, "alice", "bob")
		hello(t, ini, res)
		err := res.ReadClientIdentity(forged)
		require.ErrorIs(t, err, ErrAuthFailed)
		require.ErrorIs(t, err, ErrRecordAuth)
		assert.NotContains(t, err.Error(), "forged")
		var a *Alert
		assert.False(t, errors.As(err, &a))
	})
	t.Run("initiator", func(t *testing.T) {
		ini, res := newPair(t, "alice", "bob")
		hello(t, ini, res)
		_, err := ini.WriteClientIdentity()
		require.NoError(t, err)
		for _, read := range []func([]byte) error{ini.ReadServerIdentity} {
			err := read(forged)
			require.ErrorIs(t, err, ErrRecordAuth)
			assert.NotContains(t, err.Error(), "forged")
		}
	})
}

func TestHandshake_InviteProof(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for name, tc := range map[string]struct {
		held    []byte // the initiator's invite secret
		checked []byte // what the host checks against
		present bool
		ok      bool
	}{
		"correct secret": {secret, secret, true, true},
		"wrong secret":   {secret, []byte("another secret"), true, false},
		"empty check":    {secret, nil, true, false},
		"no proof":       {nil, secret, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			ini, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "alice", InviteSecret: tc.held})
			require.NoError(t, err)
			res, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "bob"})
			require.NoError(t, err)
			hello(t, ini, res)
			recs, err := ini.WriteClientIdentity()
			require.NoError(t, err)
			require.NoError(t, res.ReadClientIdentity(recs[0]))
			assert.False(t, res.CheckInviteProof(tc.checked), "checked before the signature")
			require.NoError(t, res.ReadClientVerify(recs[1]))
			assert.Equal(t, tc.present, res.InviteProofPresent())
			assert.Equal(t, tc.ok, res.CheckInviteProof(tc.checked))
			assert.False(t, ini.InviteProofPresent())
		})
	}
	_, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "bob", InviteSecret: secret})
	require.Error(t, err)
}

func TestHandshake_InviteSecretIsCopiedNotModified(t *testing.T) {
	secret := []byte("invite secret")
	ini, res := newPair(t, "alice", "bob")
	ini.Close()
	ini, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "alice", InviteSecret: secret})
	require.NoError(t, err)
	require.NoError(t, runHandshake(ini, res, nil))
	ini.Close()
	assert.Equal(t, "invite secret", string(secret))
}

// laterClientHello is a ClientHello as a protocol version 2 or 3 build
// writes it: the layout of today's, with its version (a version-2 chat
// layer lacks the Hello record, a version-3 one the file messages, so
// version 4 refuses both in the handshake).
func laterClientHello(v uint16) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		t.Helper()
		ini, _ := newPair(t, "alice", "bob")
		b, err := ini.WriteClientHello()
		require.NoError(t, err)
		require.Equal(t, ProtocolVersion, binary.BigEndian.Uint16(b[1+len(Magic):]))
		binary.BigEndian.PutUint16(b[1+len(Magic):], v)
		return b
	}
}

// v1ClientHello builds a protocol version 1 ClientHello by its layout.
func v1ClientHello(t *testing.T) []byte {
	b := append([]byte{TypeClientHello}, Magic...)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, make([]byte, RandomSize)...)
	x := make([]byte, X25519Size)
	x[0] = 9
	b = append(b, x...)
	b = append(b, make([]byte, 1184)...)
	id := testIdentity(t, "alice").Public().Bytes()
	b = appendU16Bytes(b, id)
	return appendU8Bytes(b, []byte("alice"))
}

func TestHandshake_OlderPeersAreToldBothNeedVersionFour(t *testing.T) {
	for v, hello := range map[uint16]func(*testing.T) []byte{1: v1ClientHello, 2: laterClientHello(2), 3: laterClientHello(3)} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			_, res := newPair(t, "alice", "bob")
			err := res.ReadClientHello(hello(t))
			require.ErrorIs(t, err, ErrVersion)
			assert.Contains(t, err.Error(), fmt.Sprintf("the partner runs an older SecureChat (protocol version %d)", v))
			assert.Equal(t, StateStart, res.State())
			var ve *VersionError
			require.True(t, errors.As(err, &ve))
			assert.Equal(t, v, ve.PeerVersion)
			frame, err := res.WriteAlert(ve.Alert())
			require.NoError(t, err)
			a, err := ParseAlert(frame) // cleartext: no handshake keys yet; the older build reads it as its own alert 3
			require.NoError(t, err)
			assert.Equal(t, AlertVersion, a.Code)
			assert.Equal(t, fmt.Sprintf("your partner runs a newer SecureChat (protocol version 4, you run version %d); update SecureChat to chat with them", v), a.Reason)
		})
	}
}

func TestHandshake_VersionAlertInPlaceOfServerHello(t *testing.T) {
	ini, _ := newPair(t, "alice", "bob")
	_, err := ini.WriteClientHello()
	require.NoError(t, err)
	err = ini.ReadServerHello(MarshalAlert(Alert{Code: AlertVersion, Reason: "unsupported protocol version"}))
	require.ErrorIs(t, err, ErrVersion)
	assert.Contains(t, err.Error(), "the partner runs another SecureChat version")
	var a *Alert
	require.True(t, errors.As(err, &a))
	assert.Equal(t, StateClientHelloSent, ini.State())
}

func TestHandshake_OtherVersionOfServerHelloIsRefused(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	err := runHandshake(ini, res, func(i int, m []byte) []byte {
		if i == 1 {
			m[1+len(Magic)+1] = 2 // a version-2 responder's ServerHello
		}
		return m
	})
	require.ErrorIs(t, err, ErrVersion)
}

// step is one handshake call, by name, for the misuse test.
type step struct {
	name string
	call func(h *Handshake) error
}

func allCalls() []step {
	w := func(f func(h *Handshake) ([]byte, error)) func(h *Handshake) error {
		return func(h *Handshake) error { _, err := f(h); return err }
	}
	ws := func(f func(h *Handshake) ([][]byte, error)) func(h *Handshake) error {
		return func(h *Handshake) error { _, err := f(h); return err }
	}
	junk := []byte{TypeRecord, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []step{
		{"WriteClientHello", w((*Handshake).WriteClientHello)},
		{"ReadClientHello", func(h *Handshake) error { return h.ReadClientHello(junk) }},
		{"WriteServerHello", w((*Handshake).WriteServerHello)},
		{"ReadServerHello", func(h *Handshake) error { return h.ReadServerHello(junk) }},
		{"WriteClientIdentity", ws((*Handshake).WriteClientIdentity)},
		{"ReadClientIdentity", func(h *Handshake) error { return h.ReadClientIdentity(junk) }},
		{"ReadClientVerify", func(h *Handshake) error { return h.ReadClientVerify(junk) }},
		{"WriteServerIdentity", ws((*Handshake).WriteServerIdentity)},
		{"WriteServerIdentityRecord", w((*Handshake).WriteServerIdentityRecord)},
		{"WriteServerVerify", w((*Handshake).WriteServerVerify)},
		{"ReadServerIdentity", func(h *Handshake) error { return h.ReadServerIdentity(junk) }},
		{"ReadServerVerify", func(h *Handshake) error { return h.ReadServerVerify(junk) }},
		{"WriteClientKey", ws((*Handshake).WriteClientKey)},
		{"WriteClientKeyRecord", w((*Handshake).WriteClientKeyRecord)},
		{"WriteClientFinished", w((*Handshake).WriteClientFinished)},
		{"ReadClientKey", func(h *Handshake) error { return h.ReadClientKey(junk) }},
		{"ReadFinished", func(h *Handshake) error { return h.ReadFinished(junk) }},
		{"WriteFinished", w((*Handshake).WriteFinished)},
		{"Channel", func(h *Handshake) error { _, _, err := h.Channel(); return err }},
	}
}

func TestHandshake_CallsOutOfOrderFailWithoutAdvancing(t *testing.T) {
	// Drive a real handshake one frame at a time; before each genuine step,
	// every call of either side with the wrong state or role (and the right
	// call with junk) fails and leaves both states as they were.
	ini, res := newPair(t, "alice", "bob")
	// At each point where a frame is in flight no write is due on
	// either side, so every call must fail.
	probe := func(h *Handshake) {
		t.Helper()
		for _, s := range allCalls() {
			before := h.State()
			err := s.call(h)
			if s.name == "Channel" && before == StateDone {
				require.NoError(t, err)
				continue
			}
			require.Error(t, err, "%s in %s", s.name, before)
			require.Equal(t, before, h.State(), "%s failed but moved the state", s.name)
		}
	}
	n := 0
	_, err := runHandshakeFrames(ini, res, func(i int, m []byte) []byte {
		probe(ini)
		probe(res)
		n++
		return m
	})
	require.NoError(t, err)
	assert.Equal(t, frameCount, n)
	probe(ini)
	probe(res)
	assert.Equal(t, StateDone, ini.State())
	assert.Equal(t, StateDone, res.State())

	_, err = NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "alice"})
	require.NoError(t, err)
	fresh, _ := newPair(t, "alice", "bob")
	err = fresh.ReadClientHello(nil)
	require.ErrorContains(t, err, "ReadClientHello is not a initiator call")
	_, err = fresh.WriteClientIdentity()
	require.ErrorContains(t, err, "unexpected call to WriteClientIdentity in state handshakeStart, want handshakeServerHelloReceived")
}

func TestHandshake_AnyChangedByteOfAnyHandshakeRecordFailsAndCanBeRetried(t *testing.T) {
	// Every bit position's byte of every record (frames 2 to 8) is flipped
	// in turn and fed to the real read of the receiving side: each fails,
	// and, since a failed read leaves the state, transcript and record
	// sequence as they were, the genuine record then still works.
	ini, res := newPair(t, "alice", "bob")
	tried := 0
	_, err := runHandshakeFrames(ini, res, func(i int, m []byte) []byte {
		read := map[int]func([]byte) error{
			2: res.ReadClientIdentity, 3: res.ReadClientVerify,
			4: ini.ReadServerIdentity, 5: ini.ReadServerVerify,
			6: res.ReadClientKey, 7: res.ReadFinished, 8: ini.ReadFinished,
		}[i]
		if read == nil {
			return m
		}
		before := [2]HandshakeState{ini.State(), res.State()}
		for off := range m {
			bad := append([]byte(nil), m...)
			bad[off] ^= 0x01 << (off % 8)
			err := read(bad)
			require.Error(t, err, "frame %d byte %d", i, off)
			require.ErrorIs(t, err, ErrAuthFailed, "frame %d byte %d", i, off)
			require.Equal(t, before, [2]HandshakeState{ini.State(), res.State()})
			tried++
		}
		require.Error(t, read(m[:len(m)-1]), "frame %d truncated", i)
		require.Error(t, read(append(append([]byte(nil), m...), 0)), "frame %d extended", i)
		return m
	})
	require.NoError(t, err)
	assert.Greater(t, tried, 2500)
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
		"plaintext peer":   {plainHello("alice"), ErrPlaintextPeer},
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

func TestHandshake_IdentityThatIsNotRSA3072Fails(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	require.NoError(t, err)
	ini, res := newPair(t, "alice", "bob")
	hello(t, ini, res)
	rec, err := ini.hsSealer.Seal((&clientIdentity{Identity: der, Name: "alice"}).marshal())
	require.NoError(t, err)
	err = res.ReadClientIdentity(rec)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "not an RSA-3072 identity key")
}

func TestHandshake_KeyTransportFailureLooksLikeABadSignature(t *testing.T) {
	alice := testIdentity(t, "alice")
	_, errGarbage := receiveSecret(alice.priv, bytes.Repeat([]byte{1}, RSACipherSize))
	short, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &alice.priv.PublicKey, make([]byte, SecretSize-1), []byte(labelOAEP))
	require.NoError(t, err)
	_, errShort := receiveSecret(alice.priv, short)
	otherLabel, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &alice.priv.PublicKey, make([]byte, SecretSize), []byte("SecureChat v1 key transport"))
	require.NoError(t, err)
	_, errLabel := receiveSecret(alice.priv, otherLabel)
	errSig := verify(alice.Public(), labelSigInitiator, make([]byte, 32), make([]byte, RSACipherSize))
	for _, e := range []error{errGarbage, errShort, errLabel} {
		require.ErrorIs(t, e, ErrAuthFailed)
		assert.Equal(t, errSig.Error(), e.Error())
	}
	// And the signature is PSS with MGF1-SHA-256 and a 32-byte salt over
	// mHash = SHA-256(label || th).
	th := bytes.Repeat([]byte{7}, 32)
	h := &Handshake{cfg: Config{Identity: alice}, random: rand.Reader}
	sig, err := h.sign(labelSigInitiator, th)
	require.NoError(t, err)
	d := sha256.Sum256(append([]byte("SecureChat v2 initiator signature\x00"), th...))
	require.NoError(t, rsa.VerifyPSS(&alice.priv.PublicKey, gocrypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: gocrypto.SHA256}))
}

func TestHandshake_NameBoundaries(t *testing.T) {
	id := testIdentity(t, "alice").Public().Bytes()
	for _, n := range []int{0, 1, 63, 64, 65} {
		name := strings.Repeat("n", n)
		ok := n >= 1 && n <= MaxNameLen
		_, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: name})
		assert.Equal(t, ok, err == nil, "config name of %d bytes", n)
		msg := append([]byte{TypeClientIdentity}, byte(len(id)>>8), byte(len(id)))
		msg = append(append(append(msg, id...), byte(n)), name...)
		m, err := parseClientIdentity(msg)
		assert.Equal(t, ok, err == nil, "ClientIdentity name of %d bytes: %v", n, err)
		if ok {
			assert.Equal(t, name, m.Name)
			assert.Equal(t, msg, m.marshal())
		}
	}
	if ini, res := newPair(t, "alice", "bob"); true {
		ini.cfg.Name = strings.Repeat("a", MaxNameLen)
		res.cfg.Name = "b"
		require.NoError(t, runHandshake(ini, res, nil))
		_, name := res.Peer()
		assert.Len(t, name, MaxNameLen)
	}
}

func TestHandshake_ReceivedNamesWithInvisibleCharactersAreRefused(t *testing.T) {
	id := testIdentity(t, "alice").Public().Bytes()
	for what, name := range map[string]string{
		"zero-width space":       "Bob\u200b",
		"right-to-left override": "Bob\u202e",
		"only white space":       "   ",
		"escape sequence":        "Bob\x1b[2J",
		"line separator":         "Bob\u2028",
	} {
		msg := append([]byte{TypeClientIdentity}, byte(len(id)>>8), byte(len(id)))
		msg = append(append(append(msg, id...), byte(len(name))), name...)
		_, err := parseClientIdentity(msg)
		assert.ErrorIs(t, err, ErrMalformed, what)
	}
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

// runSplit is the handshake in the order the session runs it: the
// responder sends ServerIdentity before it signs ServerVerify, and the
// initiator sends ClientKey before it waits for secret_R; the partner reads
// each record as soon as it is sent. It returns every frame in order.
func runSplit(t *testing.T, ini, res *Handshake) [][]byte {
	t.Helper()
	var frames [][]byte
	step := func(m []byte, err error) []byte {
		t.Helper()
		require.NoError(t, err)
		frames = append(frames, m)
		return m
	}
	m1 := step(ini.WriteClientHello())
	require.NoError(t, res.ReadClientHello(m1))
	require.NoError(t, ini.ReadServerHello(step(res.WriteServerHello())))
	cid, err := ini.WriteClientIdentity()
	require.NoError(t, err)
	frames = append(frames, cid...)
	require.NoError(t, res.ReadClientIdentity(cid[0]))
	require.NoError(t, res.ReadClientVerify(cid[1]))
	require.NoError(t, ini.ReadServerIdentity(step(res.WriteServerIdentityRecord())))
	assert.Equal(t, StateServerIdentityOnlySent, res.State())
	require.NoError(t, ini.ReadServerVerify(step(res.WriteServerVerify())))
	require.NoError(t, res.ReadClientKey(step(ini.WriteClientKeyRecord())))
	assert.Equal(t, StateClientKeyOnlySent, ini.State())
	require.NoError(t, res.ReadFinished(step(ini.WriteClientFinished())))
	require.NoError(t, ini.ReadFinished(step(res.WriteFinished())))
	return frames
}

func TestHandshake_RecordsSentOneAtATimeAreTheSameBytes(t *testing.T) {
	// The split calls only change when records leave, never what they
	// are: with the same randomness, both ways put the same frames on the
	// wire and end with the same channel.
	run := func(split bool) ([][]byte, []byte) {
		cryptotest.SetGlobalRandom(t, 1)
		var seed [32]byte
		rnd := chachaReader{mrand.NewChaCha8(seed)}
		ini, err := NewInitiator(Config{Identity: testIdentity(t, "alice"), Name: "alice", Random: rnd})
		require.NoError(t, err)
		res, err := NewResponder(Config{Identity: testIdentity(t, "bob"), Name: "bob", Random: rnd})
		require.NoError(t, err)
		defer ini.Close()
		defer res.Close()
		var frames [][]byte
		if split {
			frames = runSplit(t, ini, res)
		} else {
			frames, err = runHandshakeFrames(ini, res, nil)
			require.NoError(t, err)
		}
		require.Equal(t, StateDone, ini.State())
		require.Equal(t, StateDone, res.State())
		s, _, err := ini.Channel()
		require.NoError(t, err)
		_, o, err := res.Channel()
		require.NoError(t, err)
		rec, err := s.Seal([]byte("hello"))
		require.NoError(t, err)
		pt, err := o.Open(rec)
		require.NoError(t, err)
		require.Equal(t, "hello", string(pt))
		return frames, ini.TranscriptHash()
	}
	whole, th := run(false)
	split, thSplit := run(true)
	require.Len(t, split, frameCount)
	require.Equal(t, whole, split)
	require.Equal(t, th, thSplit)
}

func TestHandshake_SplitCallsCheckTheirState(t *testing.T) {
	ini, res := newPair(t, "alice", "bob")
	_, err := res.WriteServerVerify()
	require.ErrorContains(t, err, "unexpected call to WriteServerVerify in state handshakeStart, want handshakeServerIdentityOnlySent")
	_, err = ini.WriteClientFinished()
	require.ErrorContains(t, err, "unexpected call to WriteClientFinished in state handshakeStart, want handshakeClientKeyOnlySent")
	_, err = ini.WriteServerIdentityRecord()
	require.ErrorContains(t, err, "WriteServerIdentityRecord is not a initiator call")
	_, err = res.WriteClientKeyRecord()
	require.ErrorContains(t, err, "WriteClientKeyRecord is not a responder call")
}

func TestHandshake_UndecryptableSecretFailsTheSplitFinished(t *testing.T) {
	// Sent one at a time, ClientKey is out before secret_R is known to
	// decrypt; the Finished then fails with the one authentication error,
	// and the handshake can end with an alert.
	ini, res := newPair(t, "alice", "bob")
	hello(t, ini, res)
	cid, err := ini.WriteClientIdentity()
	require.NoError(t, err)
	require.NoError(t, res.ReadClientIdentity(cid[0]))
	require.NoError(t, res.ReadClientVerify(cid[1]))
	m5, err := res.WriteServerIdentityRecord()
	require.NoError(t, err)
	require.NoError(t, ini.ReadServerIdentity(m5))
	r := <-ini.peerSecret // as if secret_R had not decrypted
	clear(r.secret)
	ini.peerSecret <- secretResult{err: errPeerAuth}
	m6, err := res.WriteServerVerify()
	require.NoError(t, err)
	require.NoError(t, ini.ReadServerVerify(m6))
	_, err = ini.WriteClientKeyRecord()
	require.NoError(t, err)
	_, err = ini.WriteClientFinished()
	require.ErrorIs(t, err, ErrAuthFailed)
	assert.Equal(t, StateClientKeyOnlySent, ini.State())
	_, err = ini.WriteAlert(Alert{Code: AlertAuthFailed, Reason: "authentication failed"})
	require.NoError(t, err)
}
