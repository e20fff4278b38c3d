package filestore

import (
	"bytes"
	"errors"
	"image"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpenHeader feeds arbitrary header plaintexts to the parser: it must
// never panic, and accept only what the encoder writes (one encoding per
// Meta).
func FuzzOpenHeader(f *testing.F) {
	for _, m := range []Meta{
		{},
		{Name: "hello.txt", MediaType: "text/plain", Size: 5, SHA256: [32]byte{1, 2, 3}},
		{Name: string(bytes.Repeat([]byte("é"), MaxNameLen/2)), MediaType: string(bytes.Repeat([]byte("t"), MaxMediaTypeLen)), Size: MaxSize},
		{Name: string(bytes.Repeat([]byte("n"), 256-43))}, // plaintext of exactly 256 bytes
	} {
		f.Add(encodeHeader(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHeader(b)
		if err != nil {
			return
		}
		require.NoError(t, m.check())
		require.Equal(t, b, encodeHeader(m), "accepted a second encoding of %+v", m)
	})
}

// fuzzID is the id of the files FuzzOpenFile reads.
var fuzzID = ID(det("fuzz id", IDSize))

// fuzzFile seals plaintext as the file fuzzID under testKey, with fixed
// nonces.
func fuzzFile(tb testing.TB, meta Meta, plaintext []byte) []byte {
	s, err := Open(tb.TempDir(), testKey)
	require.NoError(tb, err)
	s.random = io.MultiReader(bytes.NewReader(fuzzID[:]), bytes.NewReader(det("fuzz nonces", 1<<12)))
	id := receive(tb, s, meta, plaintext, len(plaintext)+1)
	b, err := os.ReadFile(s.path(id, extSealed))
	require.NoError(tb, err)
	return b
}

// FuzzOpenFile feeds arbitrary files to the reader and to Resume: they
// must never panic, return only ErrDamaged (no other failure is possible
// from memory), never return bytes beyond the announced size, and Resume
// must keep a prefix of whole chunks.
func FuzzOpenFile(f *testing.F) {
	two := fuzzFile(f, Meta{Name: "two", MediaType: "x/y"}, pattern(ChunkSize+1))
	f.Add(fuzzFile(f, Meta{Name: "empty"}, nil))
	f.Add(fuzzFile(f, Meta{Name: "small", MediaType: "text/plain"}, []byte("hello")))
	f.Add(two)
	f.Add(two[:len(two)-10])
	f.Add(two[:prefixSize+300])
	keys, err := deriveKeys(testKey, fuzzID)
	require.NoError(f, err)
	s, err := Open(f.TempDir(), testKey)
	require.NoError(f, err)
	s.syncFile = func(file) error { return nil }
	f.Fuzz(func(t *testing.T, b []byte) {
		r, m, err := newReader(bytes.NewReader(b), int64(len(b)), fuzzID, keys)
		if err == nil {
			var got []byte
			got, err = io.ReadAll(r)
			require.LessOrEqual(t, int64(len(got)), m.Size)
			if err == nil {
				require.Equal(t, m.Size, int64(len(got)))
			}
			p := make([]byte, 100)
			_, _ = r.ReadAt(p, m.Size/2)
		}
		if err != nil {
			require.ErrorIs(t, err, ErrDamaged)
		}

		mf := &memFile{b: b}
		w, err := s.resume(fuzzID, mf, keys)
		if err != nil {
			require.ErrorIs(t, err, ErrDamaged)
			return
		}
		if w.sealed != w.meta.Size {
			require.Zero(t, w.sealed%ChunkSize, "durable %d is not whole chunks", w.sealed)
		}
		require.LessOrEqual(t, w.sealed, w.meta.Size)
		require.LessOrEqual(t, int64(len(mf.b)), w.lay.fileLen())
		require.NoError(t, w.Close())
	})
}

// FuzzThumbnail feeds arbitrary bytes to Thumbnail, with small limits so
// that each run is cheap: it must never panic, and fail only with
// ErrNotImage or ErrImageTooLarge.
func FuzzThumbnail(f *testing.F) {
	for _, kind := range []string{"png", "jpeg", "gif"} {
		f.Add(encode(f, kind, twoColors(40, 30)))
	}
	f.Add(pngHeader(100000, 100000, 8, 6, 0))
	f.Add(pngHeader(300, 300, 16, 6, 1))
	f.Add(jpegHeader(4000, 3000, true))
	f.Add(gifHeader(600, 600))
	f.Add(emptyFrameGIF())
	lim := imageLimits{side: 512, pixels: 1 << 16, memory: 1 << 20, encoded: 1 << 20, header: 1 << 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := thumbnail(bytes.NewReader(b), 32, lim)
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrImageTooLarge) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		require.LessOrEqual(t, img.Bounds().Dx(), 32)
		require.LessOrEqual(t, img.Bounds().Dy(), 32)
		require.Equal(t, image.Point{}, img.Bounds().Min)
	})
}
