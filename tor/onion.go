package tor

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
)

// OnionKey is the seed of an onion service's ed25519 key (32 bytes). The
// profile keeps it sealed; it is handed to tor on each start, and tor is told
// to forget it when the control connection closes.
//
// Its String method prints the address, never the seed, so that a key passed
// to a log by mistake does not leak.
type OnionKey [32]byte

// onionVersion is the version byte of a v3 onion address.
const onionVersion = 0x03

// onionB32 is the alphabet of onion addresses: RFC 4648 base32, lower case,
// no padding (35 bytes make exactly 56 characters).
var onionB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewOnionKey reads a new key's seed from r (crypto/rand if r is nil).
func NewOnionKey(r io.Reader) (OnionKey, error) {
	if r == nil {
		r = rand.Reader
	}
	var k OnionKey
	if _, err := io.ReadFull(r, k[:]); err != nil {
		return OnionKey{}, fmt.Errorf("tor: failed to make an onion key: %w", err)
	}
	return k, nil
}

// Address is the v3 onion address of the key, "<56 chars>.onion" in lower
// case: base32(pub || checksum || 0x03) with checksum =
// SHA3-256(".onion checksum" || pub || 0x03)[:2] (rend-spec-v3 section 6).
func (k OnionKey) Address() string {
	pub := ed25519.NewKeyFromSeed(k[:]).Public().(ed25519.PublicKey)
	return onionAddress(pub)
}

// String returns "OnionKey(<address>)": the seed never goes to a log.
func (k OnionKey) String() string { return "OnionKey(" + k.Address() + ")" }

// Format prints String whatever the verb (%x and %d included), so that no
// fmt verb prints the seed.
func (k OnionKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

func onionChecksum(pub []byte) [2]byte {
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pub)
	h.Write([]byte{onionVersion})
	var sum [2]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func onionAddress(pub ed25519.PublicKey) string {
	sum := onionChecksum(pub)
	raw := make([]byte, 0, 35)
	raw = append(raw, pub...)
	raw = append(raw, sum[:]...)
	raw = append(raw, onionVersion)
	return onionB32.EncodeToString(raw) + ".onion"
}

// expandedKey is the secret key as tor's ADD_ONION ED25519-V3 wants it: the
// 64-byte SHA-512 of the seed with the ed25519 clamping (the secret scalar,
// then the PRF secret), the way RFC 8032 section 5.1.5 derives them. It is
// neither the seed nor Go's ed25519.PrivateKey (seed || public key).
// The caller zeroes the result once used.
func (k OnionKey) expandedKey() []byte {
	h := sha512.Sum512(k[:])
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	out := make([]byte, 64)
	copy(out, h[:])
	clear(h[:])
	return out
}

// keyBlob is base64(expandedKey), the KeyBlob of "ADD_ONION ED25519-V3:".
// The caller zeroes the result once used.
func (k OnionKey) keyBlob() []byte {
	x := k.expandedKey()
	defer clear(x)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(x)))
	base64.StdEncoding.Encode(out, x)
	return out
}

// IsOnion reports whether addr, a host or host:port, is a well-formed v3
// .onion name: 56 base32 characters (either case) and ".onion", with the
// version byte 3 and a checksum that matches. Subdomains are not accepted.
func IsOnion(addr string) bool {
	_, ok := parseOnion(addr, true)
	return ok
}

// parseOnion returns the ServiceID of a v3 onion address (host or
// host:port; ".onion" optional unless needSuffix): its 56 characters in
// lower case.
func parseOnion(addr string, needSuffix bool) (string, bool) {
	host := addr
	if strings.Contains(addr, ":") {
		h, p, err := net.SplitHostPort(addr)
		if strings.HasPrefix(addr, "[") { // brackets are for IPv6
			return "", false
		}
		if err != nil || !validPort(p) {
			return "", false
		}
		host = h
	}
	id, found := strings.CutSuffix(strings.ToLower(host), ".onion")
	if needSuffix && !found {
		return "", false
	}
	if len(id) != 56 {
		return "", false
	}
	raw, err := onionB32.DecodeString(id)
	if err != nil || len(raw) != 35 || raw[34] != onionVersion {
		return "", false
	}
	sum := onionChecksum(raw[:32])
	if raw[32] != sum[0] || raw[33] != sum[1] {
		return "", false
	}
	return id, true
}

// validPort reports whether p is a decimal port number 1..65535.
func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
}
