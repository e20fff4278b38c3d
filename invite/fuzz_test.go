package invite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// encodes to a code that parses to the same invite.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(f, err)
	for _, path := range files {
		b, err := os.ReadFile(path)
		require.NoError(f, err)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "code: "); ok {
				f.Add(v)
				f.Add(strings.ToUpper(v))
			}
			if v, ok := strings.CutPrefix(line, "uri: "); ok {
				f.Add(v)
			}
		}
	}
	f.Add("")
	f.Add("sc1")
	f.Add("securechat://sc1aaaa-bbbb\n")
	f.Add(seal([]byte{2}))
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := Parse(s)
		if err != nil {
			return
		}
		code := inv.Code()
		again, err := Parse(code)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, but its re-encoding %q fails: %v", s, code, err)
		}
		require.Equal(t, inv, again)
		require.Equal(t, code, again.Code())
		_ = inv.Targets()
	})
}

// FuzzPayload seals arbitrary bytes with a correct checksum, so that the
// fuzzer reaches the field parsing that FuzzParse rarely gets past the
// checksum to, and checks the same round trip.
func FuzzPayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{2, 0})
	for _, v := range vectors {
		inv, err := New(fingerprintOf(v.key), v.addrs, v.port, v.expires, nil)
		require.NoError(f, err)
		inv.Name = v.name
		p, err := inv.MarshalBinary()
		require.NoError(f, err)
		f.Add(p[:len(p)-checksumLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := Parse(seal(body))
		if err != nil {
			return
		}
		p, err := inv.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, body, p[:len(p)-checksumLen], "an accepted payload has one encoding")
		again, err := Parse(inv.Code())
		require.NoError(t, err)
		require.Equal(t, inv, again)
	})
}
