package filestore

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResume_ContinuesFromTheLastDurableChunk(t *testing.T) {
	s := newStore(t, false)
	data := pattern(5*ChunkSize + 123)
	meta := Meta{Name: "movie.mp4", MediaType: "video/mp4", Size: int64(len(data)), SHA256: sha256.Sum256(data)}
	w, err := s.Create(meta)
	require.NoError(t, err)
	id := w.ID()
	require.NoError(t, w.WriteAt(0, data[:2*ChunkSize+500]))
	durable, err := w.Sync()
	require.NoError(t, err)
	assert.Equal(t, int64(2*ChunkSize), durable, "the chunk being filled is not durable")
	assert.Equal(t, int64(2*ChunkSize+500), w.Offset())
	crash(w)

	// The app restarts: a new Store on the folder. Before Resume has read
	// the file, Written tells a progress bar where it will be.
	s, err = Open(s.dir, testKey)
	require.NoError(t, err)
	written, err := s.Written(id)
	require.NoError(t, err)
	assert.Equal(t, int64(2*ChunkSize), written)
	w, durable, err = s.Resume(id)
	require.NoError(t, err)
	assert.Equal(t, int64(2*ChunkSize), durable)
	assert.Equal(t, meta, w.Meta())
	assert.ErrorIs(t, w.WriteAt(durable+1, data[durable+1:]), ErrOutOfOrder)
	require.NoError(t, w.WriteAt(durable, data[durable:4*ChunkSize]))
	require.NoError(t, w.Close(), "a disconnect")

	w, durable, err = s.Resume(id)
	require.NoError(t, err)
	assert.Equal(t, int64(4*ChunkSize), durable, "Close keeps the whole chunks written")
	require.NoError(t, w.WriteAt(durable, data[durable:]))
	require.NoError(t, w.Finish(meta.SHA256), "the hash covers the chunks written before the resumes")
	written, err = s.Written(id)
	require.NoError(t, err)
	assert.Equal(t, meta.Size, written, "a complete file: its size")
	_, err = s.Written(ID{1})
	assert.ErrorIs(t, err, ErrNotFound)
	got, _, err := readAll(t, s, id)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	_, _, err = s.Resume(id)
	assert.ErrorIs(t, err, ErrNotFound, "a complete file is not resumed")
}

// A crash can tear the chunk being written at any byte. For every length
// of that chunk on disk, Resume must keep exactly the whole chunks before
// it and cut the rest. The cases cover a short last chunk after a whole
// one, a full-size last chunk alone, a full-size chunk after a whole one,
// and an empty file's empty chunk.
//
// Every cut is resumed from memory (the 65564 cuts of a full-size chunk
// take seconds through the file system on a busy machine), except that a
// full-size chunk after a whole one, which Resume decrypts and hashes at
// each cut, is cut at every 61st byte: its bytes take the same path as
// those of the full-size chunk alone. The first and last few cuts and
// every 4099th are also resumed from the folder with Store.Resume, and the
// transfer is completed and read back.
func TestResume_TornChunkIsCutAtEveryByte(t *testing.T) {
	cases := []struct {
		name    string
		size    int64
		written int64 // whole chunks on disk before the torn one
		every   int64 // cut at every byte, or every so many
	}{
		{"short last chunk", ChunkSize + 1000, 1, 1},
		{"full-size last chunk, the only one", ChunkSize, 0, 1},
		{"full-size chunk in the middle", 3 * ChunkSize, 1, 61},
		{"empty file", 0, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, true)
			data := pattern(tc.size)
			meta := Meta{Name: "torn", Size: tc.size, SHA256: sha256.Sum256(data)}
			w, err := s.Create(meta)
			require.NoError(t, err)
			id, lay := w.ID(), w.lay
			// Write the whole chunks and the one that tears.
			end := min(tc.size, (tc.written+1)*ChunkSize)
			require.NoError(t, w.WriteAt(0, data[:end]))
			crash(w)
			path := s.path(id, extPart)
			whole, err := os.ReadFile(path)
			require.NoError(t, err)
			torn := lay.offset(tc.written)
			full := int64(len(whole))
			require.Equal(t, torn+int64(lay.plainLen(tc.written)+frameOverhead), full)

			// check verifies what Resume made of a cut at cut.
			check := func(cut, durable, length int64) {
				t.Helper()
				switch {
				case cut == full:
					require.Equal(t, end, durable, "a whole chunk is kept")
					require.Equal(t, full, length)
				case tc.size == 0:
					// The empty chunk is sealed again at once: no data to wait for.
					require.Equal(t, int64(0), durable)
					require.Equal(t, full, length)
				default:
					require.Equal(t, tc.written*ChunkSize, durable, "cut at %d of %d..%d", cut, torn, full)
					require.Equal(t, torn, length, "cut at %d: the torn chunk is cut off", cut)
				}
			}
			edge := func(cut int64) bool { return cut-torn < 3 || full-cut < 3 }
			keys, err := s.keys(id)
			require.NoError(t, err)
			for cut := torn; cut <= full; cut++ {
				if !edge(cut) && (cut-torn)%tc.every != 0 {
					continue
				}
				mf := &memFile{b: whole[:cut:cut]}
				w, err := s.resume(id, mf, keys)
				require.NoError(t, err, "cut at %d", cut)
				check(cut, w.sealed, int64(len(mf.b)))
			}

			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			for cut := torn; cut <= full; cut++ {
				if !edge(cut) && (cut-torn)%4099 != 0 {
					continue
				}
				require.NoError(t, f.Truncate(torn))
				_, err = f.WriteAt(whole[torn:cut], torn)
				require.NoError(t, err)
				w, durable, err := s.Resume(id)
				require.NoError(t, err, "cut at %d", cut)
				st, err := os.Stat(path)
				require.NoError(t, err)
				check(cut, durable, st.Size())
				require.NoError(t, w.WriteAt(durable, data[durable:]))
				require.NoError(t, w.Finish(meta.SHA256), "cut at %d", cut)
				got, _, err := readAll(t, s, id)
				require.NoError(t, err)
				require.True(t, bytes.Equal(data, got), "cut at %d", cut)
				// Back to a partial file for the next cut.
				require.NoError(t, os.Rename(s.path(id, extSealed), path))
			}
		})
	}
}

func TestResume_DamagedChunkIsReceivedAgain(t *testing.T) {
	s := newStore(t, true)
	data := pattern(4 * ChunkSize)
	meta := Meta{Name: "d", Size: int64(len(data)), SHA256: sha256.Sum256(data)}
	w, err := s.Create(meta)
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, data[:3*ChunkSize]))
	require.NoError(t, w.Close())
	editFile(t, s.path(w.ID(), extPart), func(b []byte) []byte {
		b[w.lay.offset(1)+100] ^= 0x80 // chunk 1 of 0, 1, 2
		return b
	})
	w, durable, err := s.Resume(w.ID())
	require.NoError(t, err)
	assert.Equal(t, int64(ChunkSize), durable, "chunk 1 and what follows it are dropped")
	require.NoError(t, w.WriteAt(durable, data[durable:]))
	require.NoError(t, w.Finish(meta.SHA256))
	got, _, err := readAll(t, s, w.ID())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
}

func TestResume_ExtraBytesAfterTheLastChunkAreCut(t *testing.T) {
	s := newStore(t, true)
	data := pattern(ChunkSize + 9)
	meta := Meta{Name: "e", Size: int64(len(data)), SHA256: sha256.Sum256(data)}
	w, err := s.Create(meta)
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, data))
	crash(w)
	editFile(t, s.path(w.ID(), extPart), func(b []byte) []byte { return append(b, "junk"...) })
	w, durable, err := s.Resume(w.ID())
	require.NoError(t, err)
	assert.Equal(t, meta.Size, durable)
	require.NoError(t, w.Finish(meta.SHA256), "everything was there: finish at once")
	got, _, err := readAll(t, s, w.ID())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
}

func TestResume_DamagedHeaderIsReported(t *testing.T) {
	s := newStore(t, true)
	w, err := s.Create(Meta{Name: "h", Size: 5})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	for _, at := range []int{0, 7, 8, 40, 44, prefixSize, prefixSize + 100} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			path := s.path(w.ID(), extPart)
			orig, err := os.ReadFile(path)
			require.NoError(t, err)
			defer os.WriteFile(path, orig, 0o600)
			editFile(t, path, func(b []byte) []byte { b[at] ^= 1; return b })
			_, _, err = s.Resume(w.ID())
			assert.ErrorIs(t, err, ErrDamaged)
		})
	}
	_, _, err = s.Resume(ID{9})
	assert.ErrorIs(t, err, ErrNotFound)
}
