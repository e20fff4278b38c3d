package crypto

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// IdentityBits is the size of every SecureChat identity key.
const IdentityBits = 3072

// ErrBadIdentityKey is returned for a public or private key that is not an
// RSA-3072 key in the expected encoding.
var ErrBadIdentityKey = errors.New("crypto: not an RSA-3072 identity key")

// Identity is a profile's long-term RSA-3072 key pair.
type Identity struct {
	priv   *rsa.PrivateKey
	public *PublicIdentity
}

// PublicIdentity is the public half of an [Identity], as a partner sees it.
type PublicIdentity struct {
	key *rsa.PublicKey
	der []byte // PKIX (SubjectPublicKeyInfo) DER
}

// GenerateIdentity makes a new RSA-3072 identity. Since Go 1.26 the standard
// library always draws key-generation randomness from its own secure source;
// rand is passed on for GODEBUG=cryptocustomrand=1 and may be nil.
func GenerateIdentity(random io.Reader) (*Identity, error) {
	if random == nil {
		random = rand.Reader
	}
	priv, err := rsa.GenerateKey(random, IdentityBits)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to generate identity key: %w", err)
	}
	return newIdentity(priv)
}

func newIdentity(priv *rsa.PrivateKey) (*Identity, error) {
	pub, err := newPublicIdentity(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Identity{priv: priv, public: pub}, nil
}

// ParseIdentity decodes a private key written by [Identity.MarshalPrivate].
func ParseIdentity(pkcs8 []byte) (*Identity, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIdentityKey, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrBadIdentityKey
	}
	return newIdentity(priv)
}

// MarshalPrivate returns the private key as PKCS #8 DER. The caller must seal
// it before it touches a disk.
func (id *Identity) MarshalPrivate() ([]byte, error) {
	b, err := x509.MarshalPKCS8PrivateKey(id.priv)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to encode identity key: %w", err)
	}
	return b, nil
}

// Public returns the public half.
func (id *Identity) Public() *PublicIdentity { return id.public }

// ParsePublicIdentity decodes a PKIX DER RSA-3072 public key.
func ParsePublicIdentity(der []byte) (*PublicIdentity, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIdentityKey, err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, ErrBadIdentityKey
	}
	return newPublicIdentity(pub)
}

func newPublicIdentity(pub *rsa.PublicKey) (*PublicIdentity, error) {
	if pub.N.BitLen() != IdentityBits {
		return nil, fmt.Errorf("%w: %d-bit modulus", ErrBadIdentityKey, pub.N.BitLen())
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to encode public key: %w", err)
	}
	return &PublicIdentity{key: pub, der: der}, nil
}

// Bytes returns the PKIX DER encoding, as sent in the handshake.
func (p *PublicIdentity) Bytes() []byte { return append([]byte(nil), p.der...) }

// Fingerprint returns the SHA-256 of the DER encoding in lower-case hex. It
// is what a profile pins for a partner.
func (p *PublicIdentity) Fingerprint() string {
	sum := sha256.Sum256(p.der)
	return hex.EncodeToString(sum[:])
}

// Equal reports whether p and q are the same key.
func (p *PublicIdentity) Equal(q *PublicIdentity) bool {
	return q != nil && p.key.Equal(q.key)
}
