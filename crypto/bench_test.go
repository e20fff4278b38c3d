package crypto

import (
	"crypto/rand"
	"testing"
)

// BenchmarkIdentityOperations measures the RSA-3072 operations of one
// handshake one at a time: each side makes one signature and one
// decryption (private key), and one verification and one encryption
// (public key). docs/BENCHMARKS.md quotes them.
func BenchmarkIdentityOperations(b *testing.B) {
	id := testIdentity(b, "alice")
	th := make([]byte, 32)
	h := &Handshake{cfg: Config{Identity: id}, random: rand.Reader}
	sig, err := h.sign(labelSigInitiator, th)
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, SecretSize)
	ct, err := h.sendSecret(id.Public(), secret)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign RSA-PSS", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.sign(labelSigInitiator, th); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt RSA-OAEP", func(b *testing.B) {
		for b.Loop() {
			if _, err := receiveSecret(id.priv, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify RSA-PSS", func(b *testing.B) {
		for b.Loop() {
			if err := verify(id.Public(), labelSigInitiator, th, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encrypt RSA-OAEP", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.sendSecret(id.Public(), secret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse identity", func(b *testing.B) {
		der := id.Public().Bytes()
		for b.Loop() {
			if _, err := ParsePublicIdentity(der); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHandshakeCPU runs both sides of a whole handshake in memory, one
// step after the other: the CPU a handshake costs, without the network and
// without overlap.
func BenchmarkHandshakeCPU(b *testing.B) {
	for b.Loop() {
		ini, res := newPair(b, "alice", "bob")
		if err := runHandshake(ini, res, nil); err != nil {
			b.Fatal(err)
		}
	}
}
