package crypto

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testIdentities are fixed RSA-3072 keys kept in testdata so that tests do
// not spend seconds generating keys. `go test ./crypto -run TestGenerateVectors -update`
// rewrites them.
var (
	identitiesOnce sync.Once
	identities     map[string]*Identity
)

func testIdentity(t testing.TB, name string) *Identity {
	t.Helper()
	identitiesOnce.Do(func() {
		identities = map[string]*Identity{}
		for _, n := range []string{"alice", "bob", "mallory"} {
			b, err := os.ReadFile(filepath.Join("testdata", "identity-"+n+".hex"))
			if err != nil {
				continue
			}
			der, err := hex.DecodeString(strings.TrimSpace(string(b)))
			if err != nil {
				continue
			}
			if id, err := ParseIdentity(der); err == nil {
				identities[n] = id
			}
		}
	})
	id, ok := identities[name]
	require.True(t, ok, "testdata/identity-%s.hex missing; run go test ./crypto -run TestGenerateVectors -update", name)
	return id
}

// tamper lets a test change a handshake frame in flight. Indexes: 0
// ClientHello, 1 ServerHello, 2 ClientIdentity, 3 ClientVerify, 4
// ServerIdentity, 5 ServerVerify, 6 ClientKey, 7 the initiator's Finished,
// 8 the responder's Finished.
type tamper func(index int, msg []byte) []byte

// frameCount is the number of frames of a whole handshake.
const frameCount = 9

// runHandshake shuttles messages between an initiator and a responder in
// memory and returns the first error either side reports.
func runHandshake(ini, res *Handshake, tf tamper) error {
	_, err := runHandshakeFrames(ini, res, tf)
	return err
}

// runHandshakeFrames is runHandshake that also returns every frame sent,
// as it was sent (before tampering).
func runHandshakeFrames(ini, res *Handshake, tf tamper) ([][]byte, error) {
	var frames [][]byte
	pass := func(m []byte) []byte {
		i := len(frames)
		frames = append(frames, append([]byte(nil), m...))
		if tf != nil {
			return tf(i, append([]byte(nil), m...))
		}
		return m
	}
	m1, err := ini.WriteClientHello()
	if err != nil {
		return frames, err
	}
	if err := res.ReadClientHello(pass(m1)); err != nil {
		return frames, err
	}
	m2, err := res.WriteServerHello()
	if err != nil {
		return frames, err
	}
	if err := ini.ReadServerHello(pass(m2)); err != nil {
		return frames, err
	}
	cid, err := ini.WriteClientIdentity()
	if err != nil {
		return frames, err
	}
	if err := res.ReadClientIdentity(pass(cid[0])); err != nil {
		return frames, err
	}
	if err := res.ReadClientVerify(pass(cid[1])); err != nil {
		return frames, err
	}
	sid, err := res.WriteServerIdentity()
	if err != nil {
		return frames, err
	}
	if err := ini.ReadServerIdentity(pass(sid[0])); err != nil {
		return frames, err
	}
	if err := ini.ReadServerVerify(pass(sid[1])); err != nil {
		return frames, err
	}
	ck, err := ini.WriteClientKey()
	if err != nil {
		return frames, err
	}
	if err := res.ReadClientKey(pass(ck[0])); err != nil {
		return frames, err
	}
	if err := res.ReadFinished(pass(ck[1])); err != nil {
		return frames, err
	}
	fin, err := res.WriteFinished()
	if err != nil {
		return frames, err
	}
	return frames, ini.ReadFinished(pass(fin))
}

func newPair(t testing.TB, ini, res string) (*Handshake, *Handshake) {
	t.Helper()
	i, err := NewInitiator(Config{Identity: testIdentity(t, ini), Name: ini})
	require.NoError(t, err)
	r, err := NewResponder(Config{Identity: testIdentity(t, res), Name: res})
	require.NoError(t, err)
	t.Cleanup(i.Close)
	t.Cleanup(r.Close)
	return i, r
}

// plainHello is the hello of the terminal's unencrypted demonstration
// (docs/PROTOCOL.md, section 7), which a secure peer must refuse.
func plainHello(name string) []byte {
	b := append([]byte{TypePlainHello}, Magic...)
	return append(append(b, byte(len(name))), name...)
}
