package invite

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/internal/testkeys"
)

var update = flag.Bool("update", false, "regenerate the test vectors in testdata/")

// chachaReader is a deterministic random source for vectors only.
type chachaReader struct{ c *rand.ChaCha8 }

func (r chachaReader) Read(p []byte) (int, error) { return r.c.Read(p) }

// vector is one file in testdata/: the fixed inputs, and what they encode to.
type vector struct {
	file    string
	comment string
	key     string // the testkeys identity whose fingerprint is invited to
	addrs   []string
	port    uint16
	expires time.Time
	name    string
}

var vectors = []vector{
	{
		file:    "ipv4-with-name.txt",
		comment: "one IPv4 address and the inviter's name",
		key:     "alice",
		addrs:   []string{"192.0.2.7"},
		port:    7777,
		expires: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		name:    "Alice",
	},
	{
		file:    "ipv6-and-hostname.txt",
		comment: "an IPv6 literal, a host name and an IPv4 address; a name that is not ASCII",
		key:     "bob",
		addrs:   []string{"2001:db8::7", "bob-laptop.example.org", "198.51.100.23"},
		port:    40443,
		expires: time.Date(2027, 1, 15, 8, 30, 5, 0, time.UTC),
		name:    "Zoë 李",
	},
	{
		file:    "no-addresses.txt",
		comment: "no addresses (the invitee is told where to dial another way) and no name",
		key:     "mallory",
		addrs:   nil,
		port:    1,
		expires: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		name:    "",
	},
}

func fingerprintOf(key string) [32]byte {
	return sha256.Sum256(testkeys.Identity(key).Public().Bytes())
}

// TestGenerateVectors writes testdata/*.txt from the fixed inputs above, the
// secrets drawn from a seeded ChaCha8. Run with -update after a deliberate
// change of the format.
func TestGenerateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata")
	}
	var seed [32]byte
	copy(seed[:], "SecureChat invite vectors")
	rnd := chachaReader{rand.NewChaCha8(seed)}
	for _, v := range vectors {
		inv, err := New(fingerprintOf(v.key), v.addrs, v.port, v.expires, rnd)
		require.NoError(t, err)
		inv.Name = v.name
		payload, err := inv.MarshalBinary()
		require.NoError(t, err)

		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n", v.comment)
		fmt.Fprintf(&b, "# Written by TestGenerateVectors (go test ./invite -run TestGenerateVectors -update); do not edit.\n")
		fmt.Fprintf(&b, "fingerprint: %s\n", inv.FingerprintHex())
		fmt.Fprintf(&b, "secret: %x\n", inv.Secret)
		fmt.Fprintf(&b, "expires: %s\n", inv.Expires.Format(time.RFC3339))
		fmt.Fprintf(&b, "port: %d\n", inv.Port)
		for _, a := range inv.Addrs {
			fmt.Fprintf(&b, "addr: %s\n", a)
		}
		fmt.Fprintf(&b, "name: %s\n", strconv.Quote(inv.Name))
		fmt.Fprintf(&b, "payload: %x\n", payload)
		fmt.Fprintf(&b, "code: %s\n", inv.Code())
		fmt.Fprintf(&b, "uri: %s\n", inv.URI())
		require.NoError(t, os.WriteFile(filepath.Join("testdata", v.file), []byte(b.String()), 0o644))
	}
}

// readVector reads a testdata file into an Invite and the encodings it
// records. "addr" may repeat; every other key appears once.
func readVector(t *testing.T, path string) (inv *Invite, payload []byte, code, uri string) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	inv = &Invite{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ": ")
		require.True(t, ok, "line %q is not key: value", line)
		require.False(t, seen[key] && key != "addr", "key %q repeats", key)
		seen[key] = true
		switch key {
		case "fingerprint":
			b, err := hex.DecodeString(value)
			require.NoError(t, err)
			inv.Fingerprint = [32]byte(b)
		case "secret":
			b, err := hex.DecodeString(value)
			require.NoError(t, err)
			inv.Secret = [16]byte(b)
		case "expires":
			inv.Expires, err = time.Parse(time.RFC3339, value)
			require.NoError(t, err)
		case "port":
			p, err := strconv.ParseUint(value, 10, 16)
			require.NoError(t, err)
			inv.Port = uint16(p)
		case "addr":
			inv.Addrs = append(inv.Addrs, value)
		case "name":
			inv.Name, err = strconv.Unquote(value)
			require.NoError(t, err)
		case "payload":
			payload, err = hex.DecodeString(value)
			require.NoError(t, err)
		case "code":
			code = value
		case "uri":
			uri = value
		default:
			t.Fatalf("unknown key %q", key)
		}
	}
	require.NoError(t, sc.Err())
	for _, k := range []string{"fingerprint", "secret", "expires", "port", "name", "payload", "code", "uri"} {
		require.True(t, seen[k], "%s lacks %q", path, k)
	}
	return inv, payload, code, uri
}

// TestReplayVectors checks every file in testdata/ in both directions: the
// fields encode to the recorded payload, code and URI, and the payload, code
// and URI decode to the fields.
func TestReplayVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), len(vectors), "testdata/ is missing vectors")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, payload, code, uri := readVector(t, path)

			got, err := want.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(payload), hex.EncodeToString(got), "payload")
			assert.Equal(t, code, want.Code())
			assert.Equal(t, uri, want.URI())

			fromPayload, err := decode(payload)
			require.NoError(t, err)
			assert.Equal(t, want, fromPayload)
			for _, s := range []string{code, uri, strings.ToUpper(code), "securechat://" + code} {
				parsed, err := Parse(s)
				require.NoError(t, err, s)
				assert.Equal(t, want, parsed, s)
			}
		})
	}
}

// TestVectorFingerprints checks that the vectors' fingerprints are the ones
// the crypto package shows for the same keys.
func TestVectorFingerprints(t *testing.T) {
	for _, v := range vectors {
		inv, _, _, _ := readVector(t, filepath.Join("testdata", v.file))
		assert.Equal(t, testkeys.Identity(v.key).Public().Fingerprint(), inv.FingerprintHex(), v.file)
	}
}
