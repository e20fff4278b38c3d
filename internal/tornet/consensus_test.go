package tornet

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readVector reads a consensus file of testdata: they were served by a
// network of this package (tor 0.4.9.11); TestConsensusVectors (tag tor)
// writes them anew with -update.
func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseConsensus_RealDocuments(t *testing.T) {
	for _, name := range []string{"consensus-ns.txt", "consensus-microdesc.txt"} {
		t.Run(name, func(t *testing.T) {
			c, err := parseConsensus(readVector(t, name))
			require.NoError(t, err)
			assert.NotEmpty(t, c.ValidAfter)
			require.Len(t, c.Routers, 4)
			var nicks []string
			for _, r := range c.Routers {
				nicks = append(nicks, r.Nickname)
				assert.Equal(t, "127.0.0.1", r.Address)
				assert.NotZero(t, r.ORPort)
				assert.Subset(t, r.Flags, []string{"Running", "Valid", "Guard"})
			}
			assert.ElementsMatch(t, []string{"auth0", "relay1", "relay2", "relay3"}, nicks)
			auth := c.Routers[slices.IndexFunc(c.Routers, func(r router) bool { return r.Nickname == "auth0" })]
			assert.Subset(t, auth.Flags, []string{"Authority", "HSDir", "V2Dir"})
		})
	}
}

func TestParseConsensus_Malformed(t *testing.T) {
	const head = "network-status-version 3\nvalid-after 2026-01-01 00:00:00\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "empty"},
		{"not a consensus", "HTTP/1.0 404 Not found\n", "not a consensus"},
		{"truncated", head + "r a id 2026-01-01 00:00:00 127.0.0.1 1 0\n", "truncated"},
		{"short r line", head + "r a id 127.0.0.1 1 0\ndirectory-footer\n", "malformed r line"},
		{"bad address", head + "r a id 2026-01-01 00:00:00 127.0.0.x 1 0\ndirectory-footer\n", "malformed address"},
		{"bad port", head + "r a id 2026-01-01 00:00:00 127.0.0.1 65536 0\ndirectory-footer\n", "malformed ORPort"},
		{"negative port", head + "r a id 2026-01-01 00:00:00 127.0.0.1 -1 0\ndirectory-footer\n", "malformed ORPort"},
		{"s before r", head + "s Running\ndirectory-footer\n", "s line before"},
		{"line too long", head + strings.Repeat("x", 70<<10) + "\n", "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConsensus([]byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "tornet: "), err.Error())
		})
	}
}

func FuzzParseConsensus(f *testing.F) {
	for _, name := range []string{"consensus-ns.txt", "consensus-microdesc.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("network-status-version 3\ns x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConsensus(b)
		if err != nil {
			return
		}
		for _, r := range c.Routers {
			if net.ParseIP(r.Address) == nil || r.ORPort < 0 || r.ORPort > 65535 {
				t.Fatalf("accepted %+v", r)
			}
		}
		_ = c.missing([]wantRouter{{Nickname: "a", ORPort: 1, Flags: []string{"Running"}}})
	})
}

func TestConsensusMissing_NamesWhatIsLacking(t *testing.T) {
	c := consensus{Routers: []router{
		{Nickname: "auth0", Address: "127.0.0.1", ORPort: 1, Flags: []string{"Authority", "Guard", "HSDir", "Running", "Valid"}},
		{Nickname: "relay1", Address: "127.0.0.1", ORPort: 2, Flags: []string{"Running", "Valid"}},
		{Nickname: "relay2", Address: "127.0.0.1", ORPort: 99, Flags: []string{"Guard", "Running", "Valid"}},
		{Nickname: "relay3", Address: "10.0.0.1", ORPort: 4, Flags: []string{"Guard", "Running", "Valid"}},
	}}
	want := []wantRouter{
		{Nickname: "auth0", ORPort: 1, Flags: []string{"Running", "Valid", "Guard", "HSDir"}},
		{Nickname: "relay1", ORPort: 2, Flags: []string{"Running", "Valid", "Guard"}},
		{Nickname: "relay2", ORPort: 3, Flags: []string{"Running"}},
		{Nickname: "relay3", ORPort: 4, Flags: []string{"Running"}},
	}
	assert.Equal(t, []string{"relay1 lacks Guard", "relay2 not listed", "relay3 not listed"}, c.missing(want))
	assert.Empty(t, c.missing(want[:1]))
}
