package history

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/securechat/securechat/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnionKey_MadeOnceStableAcrossRestartsAndNeverOnDiskUnsealed: the
// onion address must not change (contacts know it), and nothing in the
// profile folder may reveal the key without the passphrase.
func TestOnionKey_MadeOnceStableAcrossRestartsAndNeverOnDiskUnsealed(t *testing.T) {
	dir := t.TempDir()
	v, err := CreateWith(dir, "Alice", []byte("onion pass"), testParams)
	require.NoError(t, err)
	k1, err := v.OnionKey()
	require.NoError(t, err)
	require.Len(t, k1, profile.OnionKeySize)
	k2, err := v.OnionKey()
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "made once")
	require.NoError(t, v.Close())

	v, err = Open(dir, []byte("onion pass"))
	require.NoError(t, err)
	k3, err := v.OnionKey()
	require.NoError(t, err)
	assert.Equal(t, k1, k3, "the same key after a restart")
	require.NoError(t, v.Close())

	forms := [][]byte{k1, []byte(hex.EncodeToString(k1)), []byte(base64.StdEncoding.EncodeToString(k1))}
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, f := range forms {
			assert.False(t, bytes.Contains(b, f), "%s holds the onion key in the clear", path)
		}
		return nil
	}))
}
