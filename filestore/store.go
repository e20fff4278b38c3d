package filestore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

var (
	// ErrDamaged is returned when a file does not decrypt as written: a
	// changed bit, a moved, missing or added chunk, a cut or extended file,
	// or a header that belongs to another file. Nothing of a damaged chunk
	// is returned.
	ErrDamaged = errors.New("filestore: file damaged or tampered with")
	// ErrHashMismatch is returned by [Writer.Finish] when the file's
	// SHA-256 is not the announced one. The file has been removed.
	ErrHashMismatch = errors.New("filestore: the file is not the one announced (SHA-256 mismatch); it was discarded")
	// ErrNotFound is returned for an id the store does not hold.
	ErrNotFound = errors.New("filestore: no such file")
	// ErrIncomplete is returned by [Store.Open] for a file still being
	// received, and by [Writer.Finish] before the whole file was written.
	ErrIncomplete = errors.New("filestore: the file is not complete")
	// ErrBusy is returned when a [Writer] is open on the file.
	ErrBusy = errors.New("filestore: the file is being written")
	// ErrTooLarge is returned for a file above [MaxSize], and for data
	// beyond the size announced for a file.
	ErrTooLarge = errors.New("filestore: file too large")
	// ErrOutOfOrder is returned by [Writer.WriteAt] for data that does not
	// start where the written data ends. Nothing was written.
	ErrOutOfOrder = errors.New("filestore: data out of order")
	// ErrClosed is returned by a [Writer] after Finish, Abort, Close or an
	// error that left it unusable (Resume the file to continue).
	ErrClosed = errors.New("filestore: writer closed")
	// ErrNotDurable is wrapped by the error of a change that took effect
	// (a file was renamed into place) but may not survive a power cut: the
	// folder could not be flushed to disk. The change must not be reported
	// as failed.
	ErrNotDurable = errors.New("filestore: the change is in effect but may not survive a power cut")
)

// file is what a Writer needs of an open file: an *os.File, or a file in
// memory in tests.
type file interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Sync() error
	Close() error
}

// IDSize is the length of an [ID].
const IDSize = 32

// ID names a stored file. It is random, made by the store, and also the
// file's key material (see Keys in the package documentation).
type ID [IDSize]byte

// String returns the id in lower-case hex, as in the file's name.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses the hex form returned by [ID.String].
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("filestore: bad file id %q", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil || strings.ToLower(s) != s {
		return id, fmt.Errorf("filestore: bad file id %q", s)
	}
	return id, nil
}

// Meta describes a stored file. All of it is kept sealed.
type Meta struct {
	Name      string   // the name the sender gave, at most MaxNameLen bytes of UTF-8
	MediaType string   // such as "image/jpeg"; may be empty
	Size      int64    // plaintext length, 0 to MaxSize
	SHA256    [32]byte // SHA-256 of the plaintext, as announced
}

// Entry is one file of [Store.List].
type Entry struct {
	ID      ID
	Meta    Meta  // zero if Err is set
	Partial bool  // being received: Resume it, or Delete it
	Err     error // why the header could not be read (wraps ErrDamaged for damage)
}

// File name suffixes; see FORMAT in the package documentation.
const (
	extSealed = ".sealed"
	extPart   = ".part"
	extTemp   = ".tmp"
)

// Store is a folder of encrypted files. Its methods are safe for concurrent
// use; one file has at most one [Writer] at a time, and a Writer is used by
// one goroutine at a time.
type Store struct {
	dir    string
	master []byte

	// Test hooks: the source of ids and nonces, and the fsyncs.
	random   io.Reader
	syncFile func(file) error
	syncDir  func(string) error

	mu   sync.Mutex
	busy map[ID]bool // files with an open Writer, or being deleted
}

// Open opens the store in dir, creating the folder if needed, with the
// 32-byte master key from which every file key is derived. It removes what
// an interrupted import or creation left (files ending in .tmp).
func Open(dir string, masterKey []byte) (*Store, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("filestore: the master key is %d bytes, not %d", len(masterKey), KeySize)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: failed to create the folder: %w", err)
	}
	s := &Store{
		dir:      dir,
		master:   slices.Clone(masterKey),
		random:   rand.Reader,
		syncFile: file.Sync,
		syncDir:  syncDir,
		busy:     make(map[ID]bool),
	}
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n.ext == extTemp {
			if err := os.Remove(filepath.Join(dir, n.id.String()+n.ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("filestore: failed to remove a leftover file: %w", err)
			}
		}
	}
	return s, nil
}

func (s *Store) path(id ID, ext string) string {
	return filepath.Join(s.dir, id.String()+ext)
}

type fileName struct {
	id  ID
	ext string
}

// names lists the store's files by id and suffix, sorted; other files are
// ignored.
func (s *Store) names() ([]fileName, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: failed to list the folder: %w", err)
	}
	var out []fileName
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		n := de.Name()
		for _, ext := range []string{extSealed, extPart, extTemp} {
			if hexID, ok := strings.CutSuffix(n, ext); ok {
				if id, err := ParseID(hexID); err == nil {
					out = append(out, fileName{id, ext})
				}
			}
		}
	}
	return out, nil
}

// newID returns a fresh random id.
func (s *Store) newID() (ID, error) {
	var id ID
	if _, err := io.ReadFull(s.random, id[:]); err != nil {
		return id, fmt.Errorf("filestore: no randomness for a file id: %w", err)
	}
	return id, nil
}

func (s *Store) keys(id ID) (fileKeys, error) { return deriveKeys(s.master, id) }

// claim marks id busy, or reports ErrBusy.
func (s *Store) claim(id ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[id] {
		return ErrBusy
	}
	s.busy[id] = true
	return nil
}

func (s *Store) release(id ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, id)
}

// List returns the complete and partial files, sorted by id. A file whose
// header cannot be read is listed with Err set, so that it can be deleted.
func (s *Store) List() ([]Entry, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, n := range names {
		if n.ext == extTemp {
			continue
		}
		e := Entry{ID: n.id, Partial: n.ext == extPart}
		e.Meta, e.Err = s.stat(n.id, n.ext)
		if e.Err != nil {
			e.Meta = Meta{}
		}
		out = append(out, e)
	}
	return out, nil
}

// Stat returns the metadata of a complete or partial file.
func (s *Store) Stat(id ID) (Meta, error) {
	m, err := s.stat(id, extSealed)
	if errors.Is(err, ErrNotFound) {
		m, err = s.stat(id, extPart)
	}
	return m, err
}

func (s *Store) stat(id ID, ext string) (Meta, error) {
	f, err := os.Open(s.path(id, ext))
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, ErrNotFound
	} else if err != nil {
		return Meta{}, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	k, err := s.keys(id)
	if err != nil {
		return Meta{}, err
	}
	m, _, err := readHeader(f, id, k.header)
	return m, err
}

// Written estimates, without decrypting anything, how many plaintext bytes
// of a partial file are on disk in whole chunks: what a progress bar may
// show before [Store.Resume] has checked them (Resume may find fewer, if
// the last chunk was torn or damaged). A complete file gives its size.
func (s *Store) Written(id ID) (int64, error) {
	if m, err := s.stat(id, extSealed); err == nil {
		return m.Size, nil
	}
	f, err := os.Open(s.path(id, extPart))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotFound
	} else if err != nil {
		return 0, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	k, err := s.keys(id)
	if err != nil {
		return 0, err
	}
	m, start, err := readHeader(f, id, k.header)
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("filestore: %w", err)
	}
	lay := newLayout(start, m.Size)
	whole := max(st.Size()-lay.start, 0) / frameSize
	return min(whole*ChunkSize, m.Size), nil
}

// Delete removes a complete or partial file. It returns ErrBusy while a
// [Writer] is open on it (use [Writer.Abort]) and ErrNotFound if there is
// no such file. A [Reader] already open keeps reading on Unix.
func (s *Store) Delete(id ID) error {
	if err := s.claim(id); err != nil {
		return err
	}
	defer s.release(id)
	found := false
	for _, ext := range []string{extSealed, extPart} {
		err := os.Remove(s.path(id, ext))
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("filestore: failed to delete: %w", err)
		}
	}
	if !found {
		return ErrNotFound
	}
	if err := s.syncDir(s.dir); err != nil {
		return fmt.Errorf("%w (the file was deleted: %w)", ErrNotDurable, err)
	}
	return nil
}

// rename renames from to to and makes it durable: the error of a failed
// folder fsync wraps ErrNotDurable (the rename is done).
func (s *Store) rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := s.syncDir(filepath.Dir(to)); err != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, err)
	}
	return nil
}
