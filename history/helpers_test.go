package history

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/crypto"
)

// testParams keep Argon2id cheap so that the suite stays fast.
var testParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

var testPass = []byte("correct horse battery staple")

var (
	identOnce sync.Once
	ident     *crypto.Identity
	identErr  error
)

// testIdentity is generated once: RSA-3072 key generation is slow.
func testIdentity(t testing.TB) *crypto.Identity {
	identOnce.Do(func() { ident, identErr = crypto.GenerateIdentity(nil) })
	require.NoError(t, identErr)
	return ident
}

func newVault(t testing.TB, h hooks) (*Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "profile")
	v, err := create(dir, "Alice Liddell", testPass, testParams, testIdentity(t), h)
	require.NoError(t, err)
	return v, dir
}

func reopen(t testing.TB, dir string) *Vault {
	t.Helper()
	v, err := Open(dir, testPass)
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	return v
}

// reloadClean closes v, reopens its profile, checks that the history
// reads without a notice, and loads conversation id.
func reloadClean(t testing.TB, v *Vault, id string) *Transcript {
	t.Helper()
	require.NoError(t, v.Close())
	v = reopen(t, v.Dir())
	assert.Empty(t, v.Notices())
	tr, err := v.Load(id)
	require.NoError(t, err)
	return tr
}

// appendSync appends a message and waits until it is durable.
func appendSync(t testing.TB, w Writer, m MessageRecord) {
	t.Helper()
	done := make(chan error, 1)
	w.AppendMessage(m, func(err error) { done <- err })
	require.NoError(t, <-done)
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func msg(i int, outgoing bool, text string) MessageRecord {
	return MessageRecord{ID: fmt.Sprintf("%032x", i), Outgoing: outgoing, Time: t0.Add(time.Duration(i) * time.Second), Text: text}
}

// hashFiles returns the SHA-256 of every file in dir by name.
func hashFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// copyProfile copies the files of a closed profile to a new folder.
func copyProfile(t testing.TB, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, os.MkdirAll(dst, 0o700))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

// recordEnds returns the end offset of every record in a history file
// without damage.
func recordEnds(t testing.TB, data []byte) []int {
	t.Helper()
	var ends []int
	for pos := logHeaderSize; pos < len(data); {
		_, n, st := parseFrame(data[pos:])
		require.Equal(t, frameOK, st, "record at %d", pos)
		pos += n
		ends = append(ends, pos)
	}
	return ends
}

// clone returns r with strings of its own: the scan's records share a
// buffer it reuses.
func (r record) clone() record {
	for _, p := range []*string{&r.partner, &r.fingerprint, &r.role, &r.addr, &r.id, &r.text, &r.reason} {
		*p = strings.Clone(*p)
	}
	return r
}
