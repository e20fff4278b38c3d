// Package invite encodes and parses SecureChat invites.
//
// An invite lets a person start a first contact that cannot be intercepted.
// It carries the inviter's identity-key fingerprint, the addresses and port
// where the inviter listens, a one-time secret and an expiry. The invitee
// pins the fingerprint before dialing and proves, inside the encrypted
// handshake, that it holds the secret; that part is not in this package.
//
// An invite travels as a short text code ("sc1" and base32, see
// [Invite.Code]) or as a URI ("securechat:sc1..."). docs/INVITE-FORMAT.md
// specifies the bytes, and testdata/ holds vectors that the tests replay.
//
// Whoever sees an invite learns the inviter's fingerprint and addresses and
// holds the secret, so it should be shared over a channel the inviter trusts.
package invite

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/securechat/securechat/names"
)

// Format constants, as specified in docs/INVITE-FORMAT.md.
const (
	// Version is the payload version this package writes and reads.
	Version = 1
	// MaxAddrs is the largest number of addresses in an invite.
	MaxAddrs = 8
	// MaxAddrLen is the longest address, in bytes.
	MaxAddrLen = 253
	// MaxNameLen is the longest inviter name, in bytes.
	MaxNameLen = names.MaxLen
	// Prefix starts every invite code.
	Prefix = "sc1"
	// Scheme is the URI scheme of [Invite.URI], with its colon.
	Scheme = "securechat:"
)

// checksumContext starts the input of the checksum, so that no other
// SHA-256 in SecureChat can be mistaken for it.
const checksumContext = "SecureChat invite\x00"

const (
	checksumLen = 4
	// fixedLen is everything but the addresses and the name: version,
	// flags, expires, fingerprint, secret, port, n_addrs, name_len and the
	// checksum.
	fixedLen = 1 + 1 + 8 + 32 + 16 + 2 + 1 + 1 + checksumLen
	// maxPayloadLen is fixedLen with every address and the name at their
	// longest.
	maxPayloadLen = fixedLen + MaxAddrs*(1+MaxAddrLen) + MaxNameLen
	// maxInputLen bounds what Parse reads: a longest code, broken over
	// lines, in a URI, with room to spare.
	maxInputLen = 4 * (len("securechat://") + len(Prefix) + (maxPayloadLen*8+4)/5)
)

// maxExpires is the last second of the year 9999, the latest expiry an
// invite may carry, so that every expiry is a valid [time.Time] and
// formats as RFC 3339.
var maxExpires = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// ErrNotInvite is returned by [Parse] for text that is not an invite code:
// it does not start with "sc1" (after an optional "securechat:") or holds
// characters that are not base32.
var ErrNotInvite = errors.New("invite: this is not a SecureChat invite code")

// ErrChecksum is returned by [Parse] for an invite code whose checksum does
// not match: a character was changed, or the code was cut short.
var ErrChecksum = errors.New("invite: the invite code is damaged or incomplete: check that you copied all of it")

// ErrVersion is returned by [Parse] for an intact invite of a later format
// version, made by a newer SecureChat.
var ErrVersion = errors.New("invite: the invite was made by a newer version of SecureChat; update SecureChat to use it")

// ErrMalformed is wrapped, with a reason, by the errors of [Parse], [New]
// and [Invite.MarshalBinary] for an invite that breaks a rule of the
// format: an unknown flag, port 0, too many or invalid addresses, an
// invalid name, bytes after the end.
var ErrMalformed = errors.New("invite: malformed invite")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// alphabet is the RFC 4648 base32 alphabet in lower case.
const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// encoding is RFC 4648 base32, lower case, without padding.
var encoding = base32.NewEncoding(alphabet).WithPadding(base32.NoPadding)

// Invite is what an inviter gives an invitee. An Invite made by [New] or
// [Parse] is valid; one changed or built by hand can be checked with
// [Invite.MarshalBinary].
type Invite struct {
	// Fingerprint is the SHA-256 of the inviter's RSA identity public key
	// in PKIX DER form.
	Fingerprint [32]byte
	// Secret is the one-time secret the invitee proves it holds.
	Secret [16]byte
	// Expires is when the invite stops being valid, in UTC to the second.
	Expires time.Time
	// Port is the TCP port the inviter listens on, 1 to 65535.
	Port uint16
	// Addrs are the host names or IP literals where the inviter listens,
	// without port and without brackets: at most [MaxAddrs], each 1 to
	// [MaxAddrLen] bytes of printable ASCII without spaces. An address
	// with a colon must be an IPv6 address. Addrs may be empty (nil) when
	// the invitee is told the address another way.
	Addrs []string
	// Name is the inviter's display name as a hint, at most [MaxNameLen]
	// bytes and acceptable to [names.Check], or "". Like every display
	// name it is chosen by the inviter and decides nothing.
	Name string
}

// New makes an invite for the identity key with the given fingerprint,
// listening at addrs and port, valid until expires (rounded down to the
// second). The secret is read from random, or from [crypto/rand.Reader] if
// random is nil. Set Name on the result to add the inviter's name.
func New(fingerprint [32]byte, addrs []string, port uint16, expires time.Time, random io.Reader) (*Invite, error) {
	if random == nil {
		random = rand.Reader
	}
	inv := &Invite{
		Fingerprint: fingerprint,
		Expires:     time.Unix(expires.Unix(), 0).UTC(),
		Port:        port,
	}
	if len(addrs) > 0 {
		inv.Addrs = append([]string(nil), addrs...)
	}
	if err := inv.check(); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(random, inv.Secret[:]); err != nil {
		return nil, fmt.Errorf("invite: failed to draw the secret: %w", err)
	}
	return inv, nil
}

// check reports whether i follows the rules of the format.
func (i *Invite) check() error {
	if i.Expires.Before(time.Unix(0, 0)) || i.Expires.After(maxExpires) {
		return malformed("the expiry %s is not between 1970 and 9999", i.Expires.UTC().Format(time.RFC3339))
	}
	if i.Expires.Nanosecond() != 0 {
		return malformed("the expiry is not a whole second")
	}
	if i.Port == 0 {
		return malformed("the port is 0")
	}
	if len(i.Addrs) > MaxAddrs {
		return malformed("%d addresses; the limit is %d", len(i.Addrs), MaxAddrs)
	}
	for _, a := range i.Addrs {
		if err := checkAddr(a); err != nil {
			return err
		}
	}
	if len(i.Name) > MaxNameLen {
		return malformed("the name is %d bytes long; the limit is %d", len(i.Name), MaxNameLen)
	}
	if i.Name != "" {
		if err := names.Check(i.Name); err != nil {
			return malformed("the inviter's name is not acceptable: %v", err)
		}
	}
	return nil
}

// checkAddr applies the rules of [Invite.Addrs] to one address.
func checkAddr(a string) error {
	if len(a) == 0 || len(a) > MaxAddrLen {
		return malformed("an address is %d bytes long; it must be 1 to %d", len(a), MaxAddrLen)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c > '~' {
			return malformed("the address %q contains a space, control or non-ASCII byte", a)
		}
	}
	if strings.ContainsAny(a, "[]") {
		return malformed("the address %q has brackets; write an IPv6 address without them", a)
	}
	if strings.Contains(a, ":") {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return malformed("the address %q has a colon but is not an IPv6 address; give the port separately", a)
		}
	}
	return nil
}

// MarshalBinary returns the binary payload of i, checksum included, or an
// error wrapping [ErrMalformed] if i breaks a rule of the format.
func (i *Invite) MarshalBinary() ([]byte, error) {
	if err := i.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, maxPayloadLen)
	b = append(b, Version, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(i.Expires.Unix()))
	b = append(b, i.Fingerprint[:]...)
	b = append(b, i.Secret[:]...)
	b = binary.BigEndian.AppendUint16(b, i.Port)
	b = append(b, byte(len(i.Addrs)))
	for _, a := range i.Addrs {
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	b = append(b, byte(len(i.Name)))
	b = append(b, i.Name...)
	sum := checksum(b)
	return append(b, sum[:]...), nil
}

// checksum is the first four bytes of SHA-256(checksumContext || body).
func checksum(body []byte) [checksumLen]byte {
	h := sha256.New()
	h.Write([]byte(checksumContext))
	h.Write(body)
	return [checksumLen]byte(h.Sum(nil))
}

// Code returns the invite as text: "sc1" followed by the payload in lower
// case base32 (RFC 4648) without padding.
//
// Code panics if i breaks a rule of the format, which an invite from [New]
// or [Parse] cannot; check an invite changed by hand with
// [Invite.MarshalBinary] first.
func (i *Invite) Code() string {
	payload, err := i.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return Prefix + encoding.EncodeToString(payload)
}

// URI returns "securechat:" followed by [Invite.Code]. It panics in the
// same cases as Code.
func (i *Invite) URI() string {
	return Scheme + i.Code()
}

// Parse reads an invite code or URI. Case does not matter, and ASCII
// whitespace and '-' are ignored anywhere, so a code broken over lines or
// into groups still parses. The code may be preceded by "securechat:" or
// "securechat://".
//
// Parse does not look at the expiry: call [Invite.Expired].
//
// The error is [ErrNotInvite], [ErrChecksum] or [ErrVersion], or wraps
// [ErrMalformed].
func Parse(s string) (*Invite, error) {
	if len(s) > maxInputLen {
		return nil, fmt.Errorf("%w (it is %d bytes long)", ErrNotInvite, len(s))
	}
	code := normalize(s)
	if rest, ok := strings.CutPrefix(code, "securechat://"); ok {
		code = rest
	} else if rest, ok := strings.CutPrefix(code, Scheme); ok {
		code = rest
	}
	data, ok := strings.CutPrefix(code, Prefix)
	if !ok {
		return nil, ErrNotInvite
	}
	for i := 0; i < len(data); i++ {
		if strings.IndexByte(alphabet, data[i]) < 0 {
			return nil, ErrNotInvite
		}
	}
	payload, err := encoding.DecodeString(data)
	// A length that base32 cannot end with, or unused bits that are not
	// zero, mean a character was lost or changed.
	if err != nil || encoding.EncodeToString(payload) != data {
		return nil, ErrChecksum
	}
	return decode(payload)
}

// normalize lowers ASCII letters and drops ASCII whitespace and '-'.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\f', c == '\v', c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decode parses a binary payload: the checksum first, so that damage is
// reported as such, then the version, then the rest.
func decode(p []byte) (*Invite, error) {
	if len(p) < 1+checksumLen {
		return nil, ErrChecksum
	}
	body := p[:len(p)-checksumLen]
	if sum := checksum(body); [checksumLen]byte(p[len(body):]) != sum {
		return nil, ErrChecksum
	}
	switch v := body[0]; {
	case v > Version:
		return nil, ErrVersion
	case v != Version:
		return nil, malformed("unknown version %d", v)
	}
	if len(p) < fixedLen {
		return nil, malformed("the payload is %d bytes; it cannot be shorter than %d", len(p), fixedLen)
	}
	r := reader{b: body[1:]}
	if flags := r.byte(); flags != 0 {
		return nil, malformed("unknown flags %#02x", flags)
	}
	inv := &Invite{}
	expires := r.uint64()
	if expires > uint64(maxExpires.Unix()) {
		return nil, malformed("the expiry is after the year 9999")
	}
	inv.Expires = time.Unix(int64(expires), 0).UTC()
	copy(inv.Fingerprint[:], r.bytes(32))
	copy(inv.Secret[:], r.bytes(16))
	inv.Port = r.uint16()
	n := int(r.byte())
	if n > MaxAddrs {
		return nil, malformed("%d addresses; the limit is %d", n, MaxAddrs)
	}
	for range n {
		a := r.bytes(int(r.byte()))
		if r.short {
			break
		}
		inv.Addrs = append(inv.Addrs, string(a))
	}
	inv.Name = string(r.bytes(int(r.byte())))
	if r.short {
		return nil, malformed("the payload ends early")
	}
	if len(r.b) != 0 {
		return nil, malformed("%d bytes follow the name", len(r.b))
	}
	if err := inv.check(); err != nil {
		return nil, err
	}
	return inv, nil
}

// reader takes big-endian fields from the front of b. Reading past the end
// sets short and returns zeros.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.short = true
		r.b = nil
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte     { return r.bytes(1)[0] }
func (r *reader) uint16() uint16 { return binary.BigEndian.Uint16(r.bytes(2)) }
func (r *reader) uint64() uint64 { return binary.BigEndian.Uint64(r.bytes(8)) }

// Expired reports whether the invite has expired at now: whether now is at
// or after Expires.
func (i *Invite) Expired(now time.Time) bool {
	return !now.Before(i.Expires)
}

// Targets returns the addresses joined with the port, ready to dial:
// "192.0.2.7:7777", "[2001:db8::7]:7777", "chat.example.org:7777".
func (i *Invite) Targets() []string {
	port := strconv.Itoa(int(i.Port))
	t := make([]string, len(i.Addrs))
	for k, a := range i.Addrs {
		t[k] = net.JoinHostPort(a, port)
	}
	return t
}

// FingerprintHex returns the fingerprint in lower-case hex, the form in
// which SecureChat shows and pins identity keys.
func (i *Invite) FingerprintHex() string {
	return hex.EncodeToString(i.Fingerprint[:])
}
