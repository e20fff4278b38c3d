package history

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"testing"

	"github.com/securechat/securechat/filestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFilesKey_StableAcrossRestartsAndOpensTheStore: a file stored before
// a restart reads back after it, and the key is none of the profile's
// other keys.
func TestFilesKey_StableAcrossRestartsAndOpensTheStore(t *testing.T) {
	dir := t.TempDir()
	v, err := CreateWith(dir, "Alice", []byte("files pass"), testParams)
	require.NoError(t, err)
	k1, err := v.FilesKey()
	require.NoError(t, err)
	require.Len(t, k1, 32)
	pk, err := hkdf.Key(sha256.New, v.dataKey, nil, profileInfo, 32)
	require.NoError(t, err)
	assert.NotEqual(t, pk, k1, "not the profile key")
	st, err := filestore.Open(v.FilesDir(), k1)
	require.NoError(t, err)
	id, _, err := st.Import(bytes.NewReader([]byte("a picture of the parcel")), filestore.Meta{Name: "parcel.txt", MediaType: "text/plain"})
	require.NoError(t, err)
	require.NoError(t, v.Close())

	v, err = Open(dir, []byte("files pass"))
	require.NoError(t, err)
	defer v.Close()
	k2, err := v.FilesKey()
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
	st, err = filestore.Open(v.FilesDir(), k2)
	require.NoError(t, err)
	r, meta, err := st.Open(id)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, "parcel.txt", meta.Name)
}
