package filestore

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Reader decrypts a complete file as a stream. Every chunk is authenticated
// before any of its bytes are returned; a chunk that does not open fails the
// read with an error that wraps [ErrDamaged]. It holds one chunk in memory.
//
// Read, Seek and WriteTo share a position and are used by one goroutine at
// a time; ReadAt may be called from several at once.
type Reader struct {
	src   io.ReaderAt
	close func() error
	aead  cipher.AEAD
	lay   layout
	pos   int64

	mu    sync.Mutex
	idx   int64  // the chunk in plain, or -1
	plain []byte // backed by frame
	frame []byte
}

// Open opens the complete file id for reading, and returns its metadata.
// It checks the header and the file's length, and opens the last chunk, so
// that a cut or extended file fails here with [ErrDamaged]. A file still
// being received gives ErrIncomplete; an unknown id ErrNotFound.
func (s *Store) Open(id ID) (*Reader, Meta, error) {
	f, err := os.Open(s.path(id, extSealed))
	if errors.Is(err, fs.ErrNotExist) {
		if _, perr := os.Stat(s.path(id, extPart)); perr == nil {
			return nil, Meta{}, ErrIncomplete
		}
		return nil, Meta{}, ErrNotFound
	} else if err != nil {
		return nil, Meta{}, fmt.Errorf("filestore: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Meta{}, fmt.Errorf("filestore: %w", err)
	}
	keys, err := s.keys(id)
	if err != nil {
		f.Close()
		return nil, Meta{}, err
	}
	r, m, err := newReader(f, st.Size(), id, keys)
	if err != nil {
		f.Close()
		return nil, Meta{}, err
	}
	r.close = f.Close
	return r, m, nil
}

// newReader opens the file id of length size held by src.
func newReader(src io.ReaderAt, size int64, id ID, keys fileKeys) (*Reader, Meta, error) {
	m, start, err := readHeader(src, id, keys.header)
	if err != nil {
		return nil, Meta{}, err
	}
	r := &Reader{
		src:   src,
		close: func() error { return nil },
		aead:  keys.payload,
		lay:   newLayout(start, m.Size),
		idx:   -1,
	}
	if want := r.lay.fileLen(); size != want {
		return nil, Meta{}, damaged(fmt.Sprintf("the file is %d bytes long, not %d", size, want), nil)
	}
	r.frame = getFrame()
	if err := r.load(r.lay.chunks - 1); err != nil {
		putFrame(r.frame)
		return nil, Meta{}, err
	}
	return r, m, nil
}

// load makes chunk i the one in r.plain. r.mu is held.
func (r *Reader) load(i int64) error {
	if r.frame == nil {
		return errReaderClosed
	}
	if r.idx == i {
		return nil
	}
	r.idx = -1
	frame := r.frame[:r.lay.plainLen(i)+frameOverhead]
	if _, err := r.src.ReadAt(frame, r.lay.offset(i)); err != nil {
		if err == io.EOF {
			return damaged(fmt.Sprintf("chunk %d is cut", i), io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("filestore: failed to read chunk %d: %w", i, err)
	}
	plain, err := openChunk(frame, r.aead, i, r.lay.last(i))
	if err != nil {
		return damaged(fmt.Sprintf("chunk %d does not open", i), nil)
	}
	r.idx, r.plain = i, plain
	return nil
}

// Size is the plaintext length.
func (r *Reader) Size() int64 { return r.lay.size }

// ReadAt implements [io.ReaderAt].
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("filestore: negative offset")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(p) {
		if off >= r.lay.size {
			return n, io.EOF
		}
		i := off / ChunkSize
		if err := r.load(i); err != nil {
			return n, err
		}
		c := copy(p[n:], r.plain[off-i*ChunkSize:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// Read implements [io.Reader].
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements [io.Seeker].
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.lay.size
	default:
		return 0, errors.New("filestore: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("filestore: negative position")
	}
	r.pos = offset
	return offset, nil
}

// WriteTo writes the plaintext from the current position to w, a chunk at
// a time, without another buffer (io.Copy uses it).
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock() // ReadAt would replace the chunk being written
	defer r.mu.Unlock()
	var total int64
	for r.pos < r.lay.size {
		i := r.pos / ChunkSize
		if err := r.load(i); err != nil {
			return total, err
		}
		chunk := r.plain[r.pos-i*ChunkSize:]
		n, err := w.Write(chunk)
		total += int64(n)
		r.pos += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(chunk) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

var errReaderClosed = errors.New("filestore: read from a closed file")

// Close releases the file.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frame == nil {
		return nil
	}
	putFrame(r.frame)
	r.frame, r.plain, r.idx = nil, nil, -1
	return r.close()
}

// SaveAs writes a plaintext copy of the complete file id to dst, as "Save
// as…" does: into a temporary file in dst's folder, fsynced, then renamed
// over dst, and the folder fsynced. dst is either left as it was or holds
// the whole file, never part of it nor damaged data (the error then wraps
// [ErrDamaged]). If only the folder's fsync fails, the copy is in place and
// the error wraps [ErrNotDurable]. The file is streamed, a chunk at a time.
func (s *Store) SaveAs(id ID, dst string) error {
	r, _, err := s.Open(id)
	if err != nil {
		return err
	}
	defer r.Close()
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := createTemp(dir, "."+base+".tmp")
	if err != nil {
		return fmt.Errorf("filestore: failed to save: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = s.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, ErrDamaged) {
			return err
		}
		return fmt.Errorf("filestore: failed to save: %w", err)
	}
	if err := s.rename(tmp, dst); err != nil {
		if !errors.Is(err, ErrNotDurable) {
			os.Remove(tmp)
		}
		return err
	}
	return nil
}

// createTemp creates a new file in dir named prefix and random digits. Unlike
// os.CreateTemp its mode is 0666 less the umask, as for any saved file.
func createTemp(dir, prefix string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64N(1e9), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary name")
}
