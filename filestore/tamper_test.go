package filestore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tamperFixture is a stored file of three whole chunks and a short last one.
type tamperFixture struct {
	s    *Store
	id   ID
	data []byte
	orig []byte // the file on disk
	lay  layout
}

func newTamperFixture(t *testing.T) *tamperFixture {
	s := newStore(t, true)
	data := pattern(3*ChunkSize + 333)
	id := receive(t, s, Meta{Name: "t.bin", MediaType: "application/x-test"}, data, ChunkSize)
	orig, err := os.ReadFile(s.path(id, extSealed))
	require.NoError(t, err)
	return &tamperFixture{s: s, id: id, data: data, orig: orig, lay: newLayout(headerLen(Meta{Name: "t.bin", MediaType: "application/x-test"}), int64(len(data)))}
}

// check requires that opening or reading b as the file fails with
// ErrDamaged, and that no byte of a damaged chunk is returned. It reads b
// from memory through the code Store.Open uses after opening the file
// (TestTamper_DamagedChunkOnDisk goes through the folder).
func (fx *tamperFixture) check(t *testing.T, what string, b []byte) {
	t.Helper()
	keys, err := fx.s.keys(fx.id)
	require.NoError(t, err)
	r, _, err := newReader(bytes.NewReader(b), int64(len(b)), fx.id, keys)
	if err != nil {
		require.ErrorIs(t, err, ErrDamaged, what)
		return
	}
	got, err := io.ReadAll(r)
	require.ErrorIs(t, err, ErrDamaged, what)
	require.True(t, bytes.HasPrefix(fx.data, got), "%s: the bytes returned before the error must be the file's", what)
	require.Zero(t, len(got)%ChunkSize, "%s: part of a chunk was returned", what)
}

func TestTamper_EveryKindIsDetected(t *testing.T) {
	fx := newTamperFixture(t)
	frame := func(i int64) []byte {
		start := fx.lay.offset(i)
		return fx.orig[start : start+int64(fx.lay.plainLen(i)+frameOverhead)]
	}
	splice := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	head := fx.orig[:fx.lay.start]

	t.Run("a flipped bit in every byte of the header", func(t *testing.T) {
		for i := range head {
			b := bytes.Clone(fx.orig)
			b[i] ^= 1 << (i % 8)
			fx.check(t, fmt.Sprintf("bit flipped at %d", i), b)
		}
	})
	t.Run("a flipped bit in the chunks", func(t *testing.T) {
		for i := range fx.lay.chunks {
			start := fx.lay.offset(i)
			n := int64(fx.lay.plainLen(i) + frameOverhead)
			// The nonce, the first and last bytes of ciphertext, the tag.
			for _, at := range []int64{0, nonceSize - 1, nonceSize, nonceSize + 1, n / 2, n - tagSize - 1, n - tagSize, n - 1} {
				b := bytes.Clone(fx.orig)
				b[start+at] ^= 0x10
				fx.check(t, fmt.Sprintf("chunk %d, byte %d", i, at), b)
			}
		}
	})
	t.Run("two chunks swapped", func(t *testing.T) {
		fx.check(t, "0 and 1", splice(head, frame(1), frame(0), frame(2), frame(3)))
		fx.check(t, "1 and 2", splice(head, frame(0), frame(2), frame(1), frame(3)))
	})
	t.Run("a chunk repeated in place of another", func(t *testing.T) {
		fx.check(t, "0 twice", splice(head, frame(0), frame(0), frame(2), frame(3)))
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int64{int64(len(fx.orig)) - 1, fx.lay.offset(3), fx.lay.offset(3) + 1, fx.lay.offset(1), fx.lay.start, fx.lay.start - 1, int64(prefixSize), 10, 0} {
			fx.check(t, fmt.Sprintf("cut to %d bytes", n), fx.orig[:n])
		}
	})
	t.Run("the last chunk dropped and a whole chunk made the end", func(t *testing.T) {
		fx.check(t, "three chunks", splice(head, frame(0), frame(1), frame(2)))
	})
	t.Run("extended", func(t *testing.T) {
		fx.check(t, "one byte", splice(fx.orig, []byte{0}))
		fx.check(t, "a chunk again", splice(fx.orig, frame(3)))
		fx.check(t, "a whole chunk", splice(fx.orig, frame(1)))
	})
	t.Run("a chunk of another file at the same place", func(t *testing.T) {
		other := receive(t, fx.s, Meta{Name: "t.bin", MediaType: "application/x-test"}, fx.data, ChunkSize)
		ob, err := os.ReadFile(fx.s.path(other, extSealed))
		require.NoError(t, err)
		b := bytes.Clone(fx.orig)
		copy(b[fx.lay.offset(1):], ob[fx.lay.offset(1):fx.lay.offset(2)])
		fx.check(t, "chunk 1 of another file", b)
		fx.check(t, "the other file under this file's name", ob)
		b = bytes.Clone(ob)
		copy(b, fx.orig[:fx.lay.start])
		fx.check(t, "this header on the other file's chunks", b)
	})
}

func TestTamper_DamagedChunkOnDiskFailsItsReadsOnly(t *testing.T) {
	fx := newTamperFixture(t)
	b := bytes.Clone(fx.orig)
	b[fx.lay.offset(1)+500] ^= 1
	require.NoError(t, os.WriteFile(fx.s.path(fx.id, extSealed), b, 0o600))
	r, _, err := fx.s.Open(fx.id)
	require.NoError(t, err)
	defer r.Close()
	p := make([]byte, 100)
	_, err = r.ReadAt(p, ChunkSize+10)
	assert.ErrorIs(t, err, ErrDamaged)
	_, err = r.ReadAt(p, 2*ChunkSize+10)
	require.NoError(t, err, "each chunk stands on its own")
	assert.Equal(t, fx.data[2*ChunkSize+10:2*ChunkSize+110], p)
	n, err := r.ReadAt(make([]byte, 2*ChunkSize), 0)
	assert.ErrorIs(t, err, ErrDamaged)
	assert.Equal(t, ChunkSize, n, "the bytes before the damaged chunk")
}
