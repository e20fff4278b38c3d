package filestore

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// det returns n bytes that depend only on label, so that tests and vectors
// are reproducible.
func det(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "securechat filestore %s %d", label, i))
		out = append(out, sum[:]...)
	}
	return out[:n]
}

var testKey = det("master key", KeySize)

// patternBlock is the repeating unit of patternReader; its length is prime,
// so no two chunks of a file hold the same bytes.
var patternBlock = det("pattern", 65521)

// patternReader yields n deterministic bytes cheaply, without holding them.
type patternReader struct{ off, n int64 }

func newPattern(n int64) *patternReader { return &patternReader{n: n} }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	done := 0
	for done < len(b) {
		done += copy(b[done:], patternBlock[(p.off+int64(done))%int64(len(patternBlock)):])
	}
	p.off += int64(done)
	return done, nil
}

// pattern returns the first n bytes of the pattern.
func pattern(n int64) []byte {
	b, _ := io.ReadAll(newPattern(n))
	return b
}

// patternSum is the SHA-256 of pattern(n), computed streaming.
func patternSum(n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, newPattern(n))
	return [32]byte(h.Sum(nil))
}

// newStore opens a store in a new folder. With fast set, fsyncs are
// skipped (for tests that open many files; durability is not what they
// check).
func newStore(t testing.TB, fast bool) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), testKey)
	require.NoError(t, err)
	if fast {
		s.syncFile = func(file) error { return nil }
		s.syncDir = func(string) error { return nil }
	}
	return s
}

// receive writes data into a new file of s in pieces of step bytes and
// finishes it.
func receive(t testing.TB, s *Store, meta Meta, data []byte, step int) ID {
	t.Helper()
	meta.Size = int64(len(data))
	meta.SHA256 = sha256.Sum256(data)
	w, err := s.Create(meta)
	require.NoError(t, err)
	for off := 0; off < len(data); off += step {
		require.NoError(t, w.WriteAt(int64(off), data[off:min(off+step, len(data))]))
	}
	require.NoError(t, w.Finish(meta.SHA256))
	return w.ID()
}

// readAll opens id and reads it to the end.
func readAll(t testing.TB, s *Store, id ID) ([]byte, Meta, error) {
	t.Helper()
	r, m, err := s.Open(id)
	if err != nil {
		return nil, m, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return b, m, err
}

// crash drops w as a crash would: the file is not synced nor closed
// cleanly, and the partial file stays.
func crash(w *Writer) {
	w.f.Close()
	w.state = writerClosed
	w.s.release(w.id)
}

// editFile applies f to the bytes of the file at path.
func editFile(t testing.TB, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, f(bytes.Clone(b)), 0o600))
}

// memFile is a file in memory, for tests that open a file many times.
// Its bytes may be shared with the caller until it is first written.
type memFile struct {
	b     []byte
	owned bool
}

func (m *memFile) own() {
	if !m.owned {
		m.b, m.owned = bytes.Clone(m.b), true
	}
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.own()
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Truncate(n int64) error {
	if n <= int64(len(m.b)) {
		m.b = m.b[:n:n] // appending copies: shared bytes stay as they were
	} else {
		m.own()
		m.b = append(m.b, make([]byte, n-int64(len(m.b)))...)
	}
	return nil
}

func (m *memFile) Stat() (fs.FileInfo, error) { return memInfo(len(m.b)), nil }
func (m *memFile) Sync() error                { return nil }
func (m *memFile) Close() error               { return nil }

type memInfo int64

func (n memInfo) Name() string       { return "mem" }
func (n memInfo) Size() int64        { return int64(n) }
func (n memInfo) Mode() fs.FileMode  { return 0o600 }
func (n memInfo) ModTime() time.Time { return time.Time{} }
func (n memInfo) IsDir() bool        { return false }
func (n memInfo) Sys() any           { return nil }
