package invite

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testExpires = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// testInvite is a valid invite with every field set.
func testInvite(t *testing.T) *Invite {
	t.Helper()
	var fp [32]byte
	for i := range fp {
		fp[i] = byte(i)
	}
	inv, err := New(fp, []string{"192.0.2.7", "2001:db8::7", "chat.example.org"}, 7777, testExpires, bytes.NewReader(bytes.Repeat([]byte{0xAB}, 16)))
	require.NoError(t, err)
	inv.Name = "Alice"
	return inv
}

// seal appends the checksum to body and returns the code for it, so that
// tests can make codes that are intact but break another rule.
func seal(body []byte) string {
	sum := checksum(body)
	return Prefix + encoding.EncodeToString(append(bytes.Clone(body), sum[:]...))
}

// body returns the payload of inv without its checksum.
func body(t *testing.T, inv *Invite) []byte {
	t.Helper()
	p, err := inv.MarshalBinary()
	require.NoError(t, err)
	return p[:len(p)-checksumLen]
}

func TestNew(t *testing.T) {
	inv := testInvite(t)
	assert.Equal(t, bytes.Repeat([]byte{0xAB}, 16), inv.Secret[:])
	assert.Equal(t, testExpires, inv.Expires)

	t.Run("expiry rounded down to the second, in UTC", func(t *testing.T) {
		paris := time.FixedZone("CET", 3600)
		inv, err := New([32]byte{}, nil, 1, time.Date(2026, 12, 1, 13, 0, 0, 999_999_999, paris), nil)
		require.NoError(t, err)
		assert.Equal(t, testExpires, inv.Expires)
		assert.Equal(t, time.UTC, inv.Expires.Location())
	})
	t.Run("nil random uses crypto/rand", func(t *testing.T) {
		a, err := New([32]byte{}, nil, 1, testExpires, nil)
		require.NoError(t, err)
		b, err := New([32]byte{}, nil, 1, testExpires, nil)
		require.NoError(t, err)
		assert.NotEqual(t, a.Secret, b.Secret)
	})
	t.Run("failing random", func(t *testing.T) {
		_, err := New([32]byte{}, nil, 1, testExpires, iotest.ErrReader(errors.New("no entropy")))
		require.ErrorContains(t, err, "no entropy")
	})
	t.Run("short random", func(t *testing.T) {
		_, err := New([32]byte{}, nil, 1, testExpires, bytes.NewReader(make([]byte, 15)))
		require.Error(t, err)
	})
	t.Run("addresses are copied", func(t *testing.T) {
		addrs := []string{"192.0.2.7"}
		inv, err := New([32]byte{}, addrs, 1, testExpires, nil)
		require.NoError(t, err)
		addrs[0] = "198.51.100.1"
		assert.Equal(t, []string{"192.0.2.7"}, inv.Addrs)
	})
	t.Run("empty addresses are nil", func(t *testing.T) {
		inv, err := New([32]byte{}, []string{}, 1, testExpires, nil)
		require.NoError(t, err)
		assert.Nil(t, inv.Addrs)
	})
}

func TestRoundTrip(t *testing.T) {
	inv := testInvite(t)
	for _, s := range []string{inv.Code(), inv.URI()} {
		got, err := Parse(s)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
	}
	assert.True(t, strings.HasPrefix(inv.Code(), "sc1"))
	assert.Equal(t, "securechat:"+inv.Code(), inv.URI())
}

func TestParse_Forgiving(t *testing.T) {
	inv := testInvite(t)
	code := inv.Code()
	var grouped strings.Builder
	for i, c := range code {
		if i > 0 && i%5 == 0 {
			grouped.WriteByte('-')
		}
		if i > 0 && i%40 == 0 {
			grouped.WriteString("\r\n  ")
		}
		grouped.WriteRune(c)
	}
	for name, s := range map[string]string{
		"upper case":          strings.ToUpper(code),
		"upper case URI":      strings.ToUpper(inv.URI()),
		"URI with slashes":    "securechat://" + code,
		"surrounding space":   "\t " + code + " \n",
		"grouped, many lines": grouped.String(),
		"grouped URI":         "SecureChat:" + grouped.String(),
		"mixed case":          "Sc1" + strings.ToUpper(code[3:10]) + code[10:],
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(s)
			require.NoError(t, err)
			assert.Equal(t, inv, got)
		})
	}
}

func TestParse_NotInvite(t *testing.T) {
	inv := testInvite(t)
	for name, s := range map[string]string{
		"empty":              "",
		"blank":              " \n",
		"no prefix":          inv.Code()[3:],
		"other prefix":       "sc2" + inv.Code()[3:],
		"other scheme":       "https://" + inv.Code(),
		"not base32 (1)":     inv.Code() + "1",
		"not base32 (=)":     inv.Code() + "=",
		"padding":            Prefix + "aaaaaaaa======",
		"non-ASCII":          inv.Code() + "é",
		"fingerprint in hex": inv.FingerprintHex(),
		"far too long":       Prefix + strings.Repeat("a", maxInputLen),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(s)
			require.ErrorIs(t, err, ErrNotInvite)
		})
	}
}

// TestParse_EverySingleCharacterChange replaces each character of a code by
// every other printable ASCII character: the code is rejected, unless the
// change was one of case, which yields the identical invite. (A space or
// '-' is ignored, so it counts as deleting the character: rejected too.)
func TestParse_EverySingleCharacterChange(t *testing.T) {
	inv := testInvite(t)
	for _, code := range []string{inv.Code(), inv.URI()} {
		for i := 0; i < len(code); i++ {
			for c := byte(' '); c <= '~'; c++ {
				if c == code[i] {
					continue
				}
				changed := code[:i] + string(c) + code[i+1:]
				got, err := Parse(changed)
				if strings.EqualFold(string(c), code[i:i+1]) {
					require.NoError(t, err, "case change at %d: %q", i, changed)
					assert.Equal(t, inv, got)
					continue
				}
				require.Error(t, err, "change at %d to %q was accepted: %q", i, c, changed)
				inData := i >= len(code)-len(inv.Code())+len(Prefix)
				if inData && strings.IndexByte(alphabet, lower(c)) >= 0 {
					// Another base32 character: damage, and the error says so.
					require.ErrorIs(t, err, ErrChecksum, "change at %d to %q", i, c)
				}
			}
		}
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func TestParse_EveryTruncation(t *testing.T) {
	inv := testInvite(t)
	code := inv.Code()
	for n := range len(code) {
		_, err := Parse(code[:n])
		require.Error(t, err, "a code cut to %d characters was accepted", n)
		if n > len(Prefix) {
			require.ErrorIs(t, err, ErrChecksum, "cut to %d", n)
		}
	}
	payload, err := inv.MarshalBinary()
	require.NoError(t, err)
	for n := range len(payload) {
		_, err := decode(payload[:n])
		require.ErrorIs(t, err, ErrChecksum, "payload cut to %d bytes", n)
	}
}

func TestParse_Rules(t *testing.T) {
	b := body(t, testInvite(t))
	with := func(f func(b []byte) []byte) string { return seal(f(bytes.Clone(b))) }

	tests := []struct {
		name string
		code string
		want error
	}{
		{"version 2", with(func(b []byte) []byte { b[0] = 2; return b }), ErrVersion},
		{"version 255", with(func(b []byte) []byte { b[0] = 255; return b }), ErrVersion},
		{"version 0", with(func(b []byte) []byte { b[0] = 0; return b }), ErrMalformed},
		{"version 2, any length", seal([]byte{2}), ErrVersion},
		{"flags 1", with(func(b []byte) []byte { b[1] = 1; return b }), ErrMalformed},
		{"flags 0x80", with(func(b []byte) []byte { b[1] = 0x80; return b }), ErrMalformed},
		{"expiry after 9999", with(func(b []byte) []byte { b[2] = 0x80; return b }), ErrMalformed},
		{"port 0", with(func(b []byte) []byte { b[58], b[59] = 0, 0; return b }), ErrMalformed},
		{"byte after the end", with(func(b []byte) []byte { return append(b, 0) }), ErrMalformed},
		{"name longer than the rest", with(func(b []byte) []byte { b[len(b)-6] = 200; return b }), ErrMalformed},
		{"one byte missing", with(func(b []byte) []byte { return b[:len(b)-1] }), ErrMalformed},
		{"only the version", seal([]byte{1}), ErrMalformed},
		{"checksum alone", seal(nil), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.code)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestChecksum_Definition(t *testing.T) {
	p, err := testInvite(t).MarshalBinary()
	require.NoError(t, err)
	body := p[:len(p)-checksumLen]
	want := sha256.Sum256(append([]byte("SecureChat invite\x00"), body...))
	assert.Equal(t, want[:4], p[len(body):])
}

// TestRules checks each rule of the format on New, MarshalBinary and Parse
// alike: Parse of a hand-made payload that breaks the rule must fail the
// same way.
func TestRules(t *testing.T) {
	addrs := func(n int) []string {
		a := make([]string, n)
		for i := range a {
			a[i] = "192.0.2.1"
		}
		return a
	}
	tests := []struct {
		name   string
		change func(*Invite)
		ok     bool
	}{
		{"no addresses", func(i *Invite) { i.Addrs = nil }, true},
		{"1 address", func(i *Invite) { i.Addrs = addrs(1) }, true},
		{"8 addresses", func(i *Invite) { i.Addrs = addrs(8) }, true},
		{"9 addresses", func(i *Invite) { i.Addrs = addrs(9) }, false},
		{"1-byte address", func(i *Invite) { i.Addrs = []string{"h"} }, true},
		{"253-byte address", func(i *Invite) { i.Addrs = []string{strings.Repeat("h", 253)} }, true},
		{"254-byte address", func(i *Invite) { i.Addrs = []string{strings.Repeat("h", 254)} }, false},
		{"empty address", func(i *Invite) { i.Addrs = []string{""} }, false},
		{"address with space", func(i *Invite) { i.Addrs = []string{"chat example.org"} }, false},
		{"address with tab", func(i *Invite) { i.Addrs = []string{"chat\texample.org"} }, false},
		{"address with NUL", func(i *Invite) { i.Addrs = []string{"chat\x00.example.org"} }, false},
		{"address with DEL", func(i *Invite) { i.Addrs = []string{"chat\x7f"} }, false},
		{"address not ASCII", func(i *Invite) { i.Addrs = []string{"bücher.example"} }, false},
		{"host name with port", func(i *Invite) { i.Addrs = []string{"chat.example.org:7777"} }, false},
		{"IPv4 with port", func(i *Invite) { i.Addrs = []string{"192.0.2.7:7777"} }, false},
		{"IPv6 in brackets", func(i *Invite) { i.Addrs = []string{"[2001:db8::7]"} }, false},
		{"IPv6 in brackets with port", func(i *Invite) { i.Addrs = []string{"[2001:db8::7]:7777"} }, false},
		{"IPv6 with zone", func(i *Invite) { i.Addrs = []string{"fe80::1%eth0"} }, false},
		{"IPv6", func(i *Invite) { i.Addrs = []string{"2001:db8::7"} }, true},
		{"IPv6 loopback", func(i *Invite) { i.Addrs = []string{"::1"} }, true},
		{"IPv4-mapped IPv6", func(i *Invite) { i.Addrs = []string{"::ffff:192.0.2.7"} }, true},
		{"port 0", func(i *Invite) { i.Port = 0 }, false},
		{"port 1", func(i *Invite) { i.Port = 1 }, true},
		{"port 65535", func(i *Invite) { i.Port = 65535 }, true},
		{"no name", func(i *Invite) { i.Name = "" }, true},
		{"64-byte name", func(i *Invite) { i.Name = strings.Repeat("n", 64) }, true},
		{"65-byte name", func(i *Invite) { i.Name = strings.Repeat("n", 65) }, false},
		{"name with control character", func(i *Invite) { i.Name = "Alice\x1b[2J" }, false},
		{"name with newline", func(i *Invite) { i.Name = "Alice\nBob" }, false},
		{"name with bidi override", func(i *Invite) { i.Name = "Alice\u202e" }, false},
		{"name not UTF-8", func(i *Invite) { i.Name = "Alice\xff" }, false},
		{"name only spaces", func(i *Invite) { i.Name = "  " }, false},
		{"expiry 1970", func(i *Invite) { i.Expires = time.Unix(0, 0).UTC() }, true},
		{"expiry before 1970", func(i *Invite) { i.Expires = time.Unix(-1, 0).UTC() }, false},
		{"expiry 9999", func(i *Invite) { i.Expires = maxExpires }, true},
		{"expiry after 9999", func(i *Invite) { i.Expires = maxExpires.Add(time.Second) }, false},
		{"expiry not whole second", func(i *Invite) { i.Expires = testExpires.Add(time.Millisecond) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := testInvite(t)
			tt.change(inv)
			_, err := inv.MarshalBinary()
			if tt.ok {
				require.NoError(t, err)
				got, err := Parse(inv.Code())
				require.NoError(t, err)
				assert.Equal(t, inv, got)
				return
			}
			require.ErrorIs(t, err, ErrMalformed)
			assert.Panics(t, func() { _ = inv.Code() })

			if inv.Name == "" && inv.Expires.Nanosecond() == 0 {
				_, err = New(inv.Fingerprint, inv.Addrs, inv.Port, inv.Expires, nil)
				require.ErrorIs(t, err, ErrMalformed, "New")
			}
			if raw, ok := rawPayload(inv); ok {
				_, err = Parse(seal(raw))
				require.ErrorIs(t, err, ErrMalformed, "Parse")
			}
		})
	}
}

// rawPayload encodes inv without checking it, where the format can carry
// the fields at all.
func rawPayload(inv *Invite) ([]byte, bool) {
	if len(inv.Name) > 255 || len(inv.Addrs) > 255 || inv.Expires.Unix() < 0 || inv.Expires.Nanosecond() != 0 {
		return nil, false
	}
	b := []byte{Version, 0}
	b = binary.BigEndian.AppendUint64(b, uint64(inv.Expires.Unix()))
	b = append(b, inv.Fingerprint[:]...)
	b = append(b, inv.Secret[:]...)
	b = binary.BigEndian.AppendUint16(b, inv.Port)
	b = append(b, byte(len(inv.Addrs)))
	for _, a := range inv.Addrs {
		if len(a) > 255 {
			return nil, false
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	b = append(b, byte(len(inv.Name)))
	return append(b, inv.Name...), true
}

func TestExpired(t *testing.T) {
	inv := testInvite(t)
	assert.False(t, inv.Expired(testExpires.Add(-time.Second)))
	assert.False(t, inv.Expired(testExpires.Add(-time.Nanosecond)))
	assert.True(t, inv.Expired(testExpires))
	assert.True(t, inv.Expired(testExpires.Add(time.Second)))
	assert.False(t, inv.Expired(testExpires.In(time.FixedZone("X", -5*3600)).Add(-time.Minute)), "zones do not matter")
}

func TestTargets(t *testing.T) {
	inv := testInvite(t)
	assert.Equal(t, []string{"192.0.2.7:7777", "[2001:db8::7]:7777", "chat.example.org:7777"}, inv.Targets())
	inv.Addrs = nil
	assert.Empty(t, inv.Targets())
}

func TestFingerprintHex(t *testing.T) {
	inv := testInvite(t)
	assert.Equal(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", inv.FingerprintHex())
}
