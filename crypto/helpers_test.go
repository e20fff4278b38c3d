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

// tamper lets a test change a handshake message in flight (index 0 is the
// ClientHello, 1 ServerHello, 2 ClientAuth, 3 ServerAuth, 4 the responder's
// Finished, 5 the initiator's Finished).
type tamper func(index int, msg []byte) []byte

// runHandshake shuttles messages between an initiator and a responder in
// memory and returns the first error either side reports.
func runHandshake(ini, res *Handshake, tf tamper) error {
	pass := func(i int, m []byte) []byte {
		if tf != nil {
			return tf(i, append([]byte(nil), m...))
		}
		return m
	}
	m1, err := ini.WriteClientHello()
	if err != nil {
		return err
	}
	if err := res.ReadClientHello(pass(0, m1)); err != nil {
		return err
	}
	m2, err := res.WriteServerHello()
	if err != nil {
		return err
	}
	if err := ini.ReadServerHello(pass(1, m2)); err != nil {
		return err
	}
	m3, err := ini.WriteClientAuth()
	if err != nil {
		return err
	}
	if err := res.ReadClientAuth(pass(2, m3)); err != nil {
		return err
	}
	m4, fin, err := res.WriteServerAuth()
	if err != nil {
		return err
	}
	if err := ini.ReadServerAuth(pass(3, m4)); err != nil {
		return err
	}
	if err := ini.ReadFinished(pass(4, fin)); err != nil {
		return err
	}
	fin2, err := ini.WriteFinished()
	if err != nil {
		return err
	}
	return res.ReadFinished(pass(5, fin2))
}

func newPair(t testing.TB, ini, res string) (*Handshake, *Handshake) {
	t.Helper()
	i, err := NewInitiator(Config{Identity: testIdentity(t, ini), Name: ini})
	require.NoError(t, err)
	r, err := NewResponder(Config{Identity: testIdentity(t, res), Name: res})
	require.NoError(t, err)
	return i, r
}
