package transfer

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeProfile struct {
	dir    string
	key    []byte
	err    error
	handed []byte
}

func (p *fakeProfile) FilesDir() string { return p.dir }
func (p *fakeProfile) FilesKey() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	p.handed = bytes.Clone(p.key)
	return p.handed, nil
}

func TestOpenProfile_OpensTheProfilesFilesAndClearsTheKey(t *testing.T) {
	p := &fakeProfile{dir: t.TempDir(), key: bytes.Repeat([]byte{7}, 32)}
	e, err := OpenProfile(p, nil)
	require.NoError(t, err)
	require.NoError(t, e.Close())
	assert.Equal(t, make([]byte, 32), p.handed, "the copy handed over is cleared")

	_, err = OpenProfile(&fakeProfile{dir: t.TempDir(), err: errors.New("locked")}, nil)
	assert.ErrorContains(t, err, "locked")
}
