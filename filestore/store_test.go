package filestore

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The boundary sizes of the chunking, and a file of many chunks.
var roundTripSizes = []int64{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 2 * ChunkSize, 5_000_000}

func TestRoundTrip_ReceivedAndImportedFilesReadBackWhole(t *testing.T) {
	s := newStore(t, true)
	for _, size := range roundTripSizes {
		data := pattern(size)
		meta := Meta{Name: fmt.Sprintf("file-%d.bin", size), MediaType: "application/octet-stream"}
		t.Run(fmt.Sprintf("received/%d", size), func(t *testing.T) {
			id := receive(t, s, meta, data, 10_007) // pieces that straddle chunks
			got, m, err := readAll(t, s, id)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "the plaintext read back differs")
			assert.Equal(t, meta.Name, m.Name)
			assert.Equal(t, meta.MediaType, m.MediaType)
			assert.Equal(t, size, m.Size)
			assert.Equal(t, sha256.Sum256(data), m.SHA256)
		})
		t.Run(fmt.Sprintf("imported/%d", size), func(t *testing.T) {
			id, m, err := s.Import(bytes.NewReader(data), meta)
			require.NoError(t, err)
			assert.Equal(t, size, m.Size, "Import computes the size")
			assert.Equal(t, sha256.Sum256(data), m.SHA256, "Import computes the SHA-256")
			got, m2, err := readAll(t, s, id)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "the plaintext read back differs")
			assert.Equal(t, m, m2)
		})
	}
	list, err := s.List()
	require.NoError(t, err)
	assert.Len(t, list, 2*len(roundTripSizes))
	for _, e := range list {
		assert.NoError(t, e.Err)
		assert.False(t, e.Partial)
	}
}

func TestReader_ReadAtAndSeekAcrossChunks(t *testing.T) {
	s := newStore(t, true)
	data := pattern(3*ChunkSize + 100)
	id := receive(t, s, Meta{Name: "x"}, data, ChunkSize)
	r, _, err := s.Open(id)
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, int64(len(data)), r.Size())
	for _, tc := range []struct{ off, n int }{
		{0, 1}, {ChunkSize - 1, 2}, {ChunkSize, ChunkSize}, {ChunkSize - 10, 2*ChunkSize + 20}, {len(data) - 1, 1}, {5, 0},
	} {
		p := make([]byte, tc.n)
		n, err := r.ReadAt(p, int64(tc.off))
		require.NoError(t, err, "ReadAt(%d bytes at %d)", tc.n, tc.off)
		require.Equal(t, tc.n, n)
		require.Equal(t, data[tc.off:tc.off+tc.n], p, "ReadAt(%d bytes at %d)", tc.n, tc.off)
	}
	p := make([]byte, 200)
	n, err := r.ReadAt(p, int64(len(data)-100))
	assert.Equal(t, 100, n)
	assert.ErrorIs(t, err, io.EOF, "a read past the end reports io.EOF")
	_, err = r.Seek(2*ChunkSize+7, io.SeekStart)
	require.NoError(t, err)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data[2*ChunkSize+7:], rest)
}

func TestWriter_RefusesDataOutOfOrderOrBeyondTheAnnouncedSize(t *testing.T) {
	s := newStore(t, true)
	data := pattern(1000)
	w, err := s.Create(Meta{Name: "a", Size: 1000, SHA256: sha256.Sum256(data)})
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, data[:500]))
	assert.ErrorIs(t, w.WriteAt(400, data[400:600]), ErrOutOfOrder, "data already written")
	assert.ErrorIs(t, w.WriteAt(600, data[600:]), ErrOutOfOrder, "a gap")
	assert.ErrorIs(t, w.WriteAt(500, pattern(501)), ErrTooLarge, "more than announced")
	assert.ErrorIs(t, w.Finish(sha256.Sum256(data)), ErrIncomplete, "Finish before the end")
	require.NoError(t, w.WriteAt(500, data[500:]), "the refused writes changed nothing")
	require.NoError(t, w.Finish(sha256.Sum256(data)))
	assert.ErrorIs(t, w.WriteAt(1000, nil), ErrClosed)
	got, _, err := readAll(t, s, w.ID())
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestCreate_RefusesWhatCannotBeStored(t *testing.T) {
	s := newStore(t, true)
	for name, m := range map[string]Meta{
		"over 4 GiB":         {Size: MaxSize + 1},
		"negative size":      {Size: -1},
		"long name":          {Name: string(bytes.Repeat([]byte("n"), MaxNameLen+1))},
		"long media type":    {MediaType: string(bytes.Repeat([]byte("t"), MaxMediaTypeLen+1))},
		"name is not UTF-8":  {Name: "\xff"},
		"media is not UTF-8": {MediaType: "\xfe"},
	} {
		_, err := s.Create(m)
		assert.Error(t, err, name)
	}
	w, err := s.Create(Meta{Size: MaxSize, Name: string(bytes.Repeat([]byte("n"), MaxNameLen)), MediaType: string(bytes.Repeat([]byte("t"), MaxMediaTypeLen))})
	require.NoError(t, err, "the largest file with the longest name and media type")
	require.NoError(t, w.Abort())
}

func TestFinish_HashMismatchDiscardsTheFile(t *testing.T) {
	s := newStore(t, false)
	data := pattern(ChunkSize + 5)
	t.Run("content differs from the announced hash", func(t *testing.T) {
		announced := sha256.Sum256([]byte("something else"))
		w, err := s.Create(Meta{Name: "a", Size: int64(len(data)), SHA256: announced})
		require.NoError(t, err)
		require.NoError(t, w.WriteAt(0, data))
		err = w.Finish(announced)
		require.ErrorIs(t, err, ErrHashMismatch)
		t.Log(err)
		assertNoFile(t, s, w.ID())
	})
	t.Run("Finish given another hash than announced", func(t *testing.T) {
		sum := sha256.Sum256(data)
		w, err := s.Create(Meta{Name: "a", Size: int64(len(data)), SHA256: sha256.Sum256(nil)})
		require.NoError(t, err)
		require.NoError(t, w.WriteAt(0, data))
		require.ErrorIs(t, w.Finish(sum), ErrHashMismatch)
		assertNoFile(t, s, w.ID())
	})
	t.Run("after a resume, the hash covers the chunks on disk", func(t *testing.T) {
		other := bytes.Clone(data)
		other[10] ^= 1 // the first chunk, as a lying sender sent it
		w, err := s.Create(Meta{Name: "a", Size: int64(len(data)), SHA256: sha256.Sum256(data)})
		require.NoError(t, err)
		require.NoError(t, w.WriteAt(0, other[:ChunkSize]))
		_, err = w.Sync()
		require.NoError(t, err)
		require.NoError(t, w.Close())
		w, durable, err := s.Resume(w.ID())
		require.NoError(t, err)
		require.Equal(t, int64(ChunkSize), durable)
		require.NoError(t, w.WriteAt(durable, data[durable:]))
		require.ErrorIs(t, w.Finish(sha256.Sum256(data)), ErrHashMismatch)
		assertNoFile(t, s, w.ID())
	})
}

func assertNoFile(t *testing.T, s *Store, id ID) {
	t.Helper()
	_, _, err := s.Open(id)
	assert.ErrorIs(t, err, ErrNotFound)
	ents, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.NotContains(t, e.Name(), id.String(), "a file of %s is left", id)
	}
}

func TestPartialFile_IsListedAndCannotBeOpened(t *testing.T) {
	s := newStore(t, true)
	data := pattern(2*ChunkSize + 1)
	w, err := s.Create(Meta{Name: "p", Size: int64(len(data)), SHA256: sha256.Sum256(data)})
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, data[:ChunkSize+3]))
	_, _, err = s.Open(w.ID())
	assert.ErrorIs(t, err, ErrIncomplete)
	_, _, err = s.Resume(w.ID())
	assert.ErrorIs(t, err, ErrBusy, "one writer per file")
	assert.ErrorIs(t, s.Delete(w.ID()), ErrBusy)
	require.NoError(t, w.Close())
	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.True(t, list[0].Partial)
	assert.Equal(t, "p", list[0].Meta.Name)
	m, err := s.Stat(w.ID())
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), m.Size)
	require.NoError(t, s.Delete(w.ID()))
	assertNoFile(t, s, w.ID())
	assert.ErrorIs(t, s.Delete(w.ID()), ErrNotFound)
}

func TestAbort_RemovesThePartialFile(t *testing.T) {
	s := newStore(t, false)
	w, err := s.Create(Meta{Name: "a", Size: 10})
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, []byte("12345")))
	require.NoError(t, w.Abort())
	assertNoFile(t, s, w.ID())
	assert.ErrorIs(t, w.WriteAt(5, []byte("6")), ErrClosed)
}

func TestOpen_RemovesLeftoversAndKeepsFiles(t *testing.T) {
	s := newStore(t, false)
	id := receive(t, s, Meta{Name: "kept"}, pattern(100), 100)
	w, err := s.Create(Meta{Name: "partial", Size: 5})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	var leftover ID
	leftover[0] = 7
	tmp := s.path(leftover, extTemp)
	require.NoError(t, os.WriteFile(tmp, []byte("an import cut by a crash"), 0o600))
	other := filepath.Join(s.dir, "notes.txt")
	require.NoError(t, os.WriteFile(other, []byte("not ours"), 0o600))

	s2, err := Open(s.dir, testKey)
	require.NoError(t, err)
	assert.NoFileExists(t, tmp)
	assert.FileExists(t, other, "files the store did not make are left alone")
	list, err := s2.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	_, _, err = readAll(t, s2, id)
	assert.NoError(t, err)
}

func TestOpen_WrongMasterKeyReadsNothing(t *testing.T) {
	s := newStore(t, true)
	id := receive(t, s, Meta{Name: "a"}, pattern(10), 10)
	other, err := Open(s.dir, det("another key", KeySize))
	require.NoError(t, err)
	_, _, err = other.Open(id)
	assert.ErrorIs(t, err, ErrDamaged)
	list, err := other.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.ErrorIs(t, list[0].Err, ErrDamaged)
	_, err = Open(s.dir, testKey[:16])
	assert.Error(t, err, "a short master key")
}

func TestSaveAs_WritesAPlaintextCopyAtomically(t *testing.T) {
	s := newStore(t, false)
	data := pattern(3*ChunkSize + 17)
	id := receive(t, s, Meta{Name: "doc.pdf"}, data, 4096)
	out := t.TempDir()
	dst := filepath.Join(out, "doc.pdf")
	require.NoError(t, os.WriteFile(dst, []byte("an older file the user chose to replace"), 0o644))

	require.NoError(t, s.SaveAs(id, dst))
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "the copy differs")
	assertOnly(t, out, "doc.pdf")

	// A file damaged in its middle chunk: nothing of it reaches dst.
	editFile(t, s.path(id, extSealed), func(b []byte) []byte {
		b[len(b)-frameSize] ^= 1
		return b
	})
	err = s.SaveAs(id, dst)
	require.ErrorIs(t, err, ErrDamaged)
	got, err = os.ReadFile(dst)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got), "a failed save changed the destination")
	assertOnly(t, out, "doc.pdf")

	assert.ErrorIs(t, s.SaveAs(ID{1}, filepath.Join(out, "x")), ErrNotFound)
	assertOnly(t, out, "doc.pdf")

	// The rename fails (a folder of that name): the temporary file goes.
	editFile(t, s.path(id, extSealed), func(b []byte) []byte {
		b[len(b)-frameSize] ^= 1
		return b
	})
	require.NoError(t, os.Mkdir(filepath.Join(out, "folder"), 0o700))
	assert.Error(t, s.SaveAs(id, filepath.Join(out, "folder")))
	assertOnly(t, out, "doc.pdf", "folder")
}

// assertOnly checks that dir holds exactly the named files: no temporary
// file is left.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	assert.ElementsMatch(t, names, got)
}

func TestFolder_HoldsNoPlaintextNameTypeOrContent(t *testing.T) {
	s := newStore(t, true)
	const name = "holiday-in-lisbon-with-alice.jpg"
	const mediaType = "image/x-very-private"
	marker := []byte("TOP SECRET CONTENT MARKER ")
	data := bytes.Repeat(marker, (2*ChunkSize+100)/len(marker))
	receive(t, s, Meta{Name: name, MediaType: mediaType}, data, 1000)
	_, _, err := s.Import(bytes.NewReader(data), Meta{Name: name, MediaType: mediaType})
	require.NoError(t, err)
	w, err := s.Create(Meta{Name: name, MediaType: mediaType, Size: int64(len(data)), SHA256: sha256.Sum256(data)})
	require.NoError(t, err)
	require.NoError(t, w.WriteAt(0, data[:ChunkSize+10]))
	require.NoError(t, w.Close())

	ents, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	require.Len(t, ents, 3)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		require.NoError(t, err)
		for _, needle := range [][]byte{[]byte(name), []byte("holiday"), []byte(mediaType), []byte("private"), marker[:8]} {
			assert.False(t, bytes.Contains(b, needle), "%s holds %q in the clear", e.Name(), needle)
			assert.False(t, bytes.Contains([]byte(e.Name()), needle))
		}
	}
}

func TestParseID_RoundTrip(t *testing.T) {
	id := ID(det("id", IDSize))
	got, err := ParseID(id.String())
	require.NoError(t, err)
	assert.Equal(t, id, got)
	for _, bad := range []string{"", "00", id.String()[1:], id.String() + "0", "zz" + id.String()[2:], "AB" + id.String()[2:]} {
		_, err := ParseID(bad)
		assert.Error(t, err, "%q", bad)
	}
}
