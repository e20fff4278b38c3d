package filestore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// writerState is where a Writer is in its life.
type writerState int

const (
	writerOpen     writerState = iota // accepting data
	writerBroken                      // a write failed: only Close or Abort
	writerFinished                    // renamed to .sealed
	writerClosed                      // closed, the .part file kept
	writerAborted                     // the .part file removed
)

func (st writerState) String() string {
	switch st {
	case writerOpen:
		return "open"
	case writerBroken:
		return "broken"
	case writerFinished:
		return "finished"
	case writerClosed:
		return "closed"
	case writerAborted:
		return "aborted"
	}
	return fmt.Sprintf("writerState(%d)", int(st))
}

// Writer receives one file, in order, into a partial file of the store.
// Every 64 KiB chunk is sealed and written as soon as its last byte
// arrives; [Writer.Sync] makes the written chunks durable. A Writer is used
// by one goroutine at a time.
type Writer struct {
	s    *Store
	id   ID
	meta Meta
	f    file
	keys fileKeys
	lay  layout

	next   int64  // index of the chunk being filled
	filled int    // bytes of its plaintext so far, in frame after the nonce
	frame  []byte // the chunk being filled, sealed in place; allocated when needed
	off    int64  // plaintext bytes accepted
	sealed int64  // plaintext bytes in chunks written to the file
	sum    hash.Hash
	state  writerState
	err    error // why the writer broke
}

// Create starts receiving the file meta announces (its name, media type,
// size and SHA-256) and returns a Writer positioned at offset 0. The file is
// durable, as a partial file, when Create returns: after a crash
// [Store.Resume] finds it. [Writer.ID] names it.
func (s *Store) Create(meta Meta) (*Writer, error) {
	if err := meta.check(); err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	if err := s.claim(id); err != nil {
		return nil, err
	}
	w, err := s.create(id, meta)
	if err != nil {
		s.release(id)
		return nil, err
	}
	return w, nil
}

func (s *Store) create(id ID, meta Meta) (*Writer, error) {
	keys, err := s.keys(id)
	if err != nil {
		return nil, err
	}
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(s.random, nonce[:]); err != nil {
		return nil, fmt.Errorf("filestore: no randomness for a nonce: %w", err)
	}
	hdr := sealHeader(keys.header, id, nonce[:], meta)
	tmp := s.path(id, extTemp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	_, err = f.Write(hdr)
	if err == nil {
		err = s.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	part := s.path(id, extPart)
	if err := os.Rename(tmp, part); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	if err := s.syncDir(s.dir); err != nil {
		os.Remove(part)
		return nil, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	if f, err = os.OpenFile(part, os.O_RDWR, 0); err != nil {
		os.Remove(part)
		return nil, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	w := newWriter(s, id, meta, f, keys, int64(len(hdr)))
	if err := w.sealFull(); err != nil { // an empty file's only chunk
		w.Abort()
		return nil, err
	}
	return w, nil
}

func newWriter(s *Store, id ID, meta Meta, f file, keys fileKeys, start int64) *Writer {
	return &Writer{
		s: s, id: id, meta: meta, f: f, keys: keys,
		lay: newLayout(start, meta.Size),
		sum: sha256.New(),
	}
}

// chunkBuf returns the writer's chunk buffer, allocating it on first use: a
// Resume that finds nothing to check, or a Writer closed before any data,
// costs no 64 KiB.
func (w *Writer) chunkBuf() []byte {
	if w.frame == nil {
		w.frame = getFrame()
	}
	return w.frame
}

// done ends the writer in state st, and gives its buffer back.
func (w *Writer) done(st writerState) {
	w.state = st
	putFrame(w.frame)
	w.frame = nil
}

// Resume reopens the partial file id after a disconnect, a crash or a
// restart. It checks every chunk on disk (and hashes them, for
// [Writer.Finish]), cuts the file after the last whole chunk that opens,
// makes that durable, and returns a Writer that continues at durable, the
// number of plaintext bytes kept. The sender sends again from there; if
// durable is the whole size, only [Writer.Finish] is left. Checking reads
// the whole partial file once, a chunk at a time. A partial file whose
// header is damaged gives ErrDamaged: it cannot be resumed, only deleted.
func (s *Store) Resume(id ID) (w *Writer, durable int64, err error) {
	if err := s.claim(id); err != nil {
		return nil, 0, err
	}
	defer func() {
		if err != nil {
			s.release(id)
		}
	}()
	f, err := os.OpenFile(s.path(id, extPart), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	} else if err != nil {
		return nil, 0, fmt.Errorf("filestore: %w", err)
	}
	keys, err := s.keys(id)
	if err == nil {
		w, err = s.resume(id, f, keys)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return w, w.sealed, nil
}

// resume is Resume once the partial file id is open, and its keys derived.
func (s *Store) resume(id ID, f file, keys fileKeys) (w *Writer, err error) {
	meta, start, err := readHeader(f, id, keys.header)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	w = newWriter(s, id, meta, f, keys, start)
	defer func() {
		if err != nil {
			putFrame(w.frame)
		}
	}()
	end := st.Size()
	for ; w.next < w.lay.chunks; w.next++ {
		n := w.lay.plainLen(w.next)
		at := w.lay.offset(w.next)
		if end-at < int64(n+frameOverhead) {
			break // torn, or not written yet
		}
		frame := w.chunkBuf()[:n+frameOverhead]
		if _, err := f.ReadAt(frame, at); err != nil {
			return nil, fmt.Errorf("filestore: failed to read the partial file: %w", err)
		}
		plain, err := openChunk(frame, keys.payload, w.next, w.lay.last(w.next))
		if err != nil {
			break // torn by a crash, or damaged: received again
		}
		w.sum.Write(plain)
		w.sealed += int64(n)
	}
	w.off = w.sealed
	keep := w.lay.offset(w.next)
	if w.next == w.lay.chunks {
		keep = w.lay.fileLen()
	}
	if end != keep {
		if err := f.Truncate(keep); err != nil {
			return nil, fmt.Errorf("filestore: failed to cut the partial file: %w", err)
		}
	}
	if err := s.syncFile(f); err != nil {
		return nil, fmt.Errorf("filestore: failed to sync the partial file: %w", err)
	}
	if err := w.sealFull(); err != nil {
		return nil, err
	}
	return w, nil
}

// ID is the file's id.
func (w *Writer) ID() ID { return w.id }

// Meta is the file's metadata as announced.
func (w *Writer) Meta() Meta { return w.meta }

// Offset is where the next [Writer.WriteAt] must start: the number of bytes
// accepted, durable or not.
func (w *Writer) Offset() int64 { return w.off }

// usable returns the error for a writer that cannot take data.
func (w *Writer) usable() error {
	switch w.state {
	case writerOpen:
		return nil
	case writerBroken:
		return fmt.Errorf("%w: an earlier write failed: %w", ErrClosed, w.err)
	}
	return fmt.Errorf("%w (%s)", ErrClosed, w.state)
}

// WriteAt adds data at offset, which must be [Writer.Offset]: data comes in
// order. Data beyond the announced size is refused with ErrTooLarge, data
// elsewhere with ErrOutOfOrder, and nothing is written then. A failure to
// write the file breaks the Writer: Close it and Resume.
func (w *Writer) WriteAt(offset int64, data []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if offset != w.off {
		return fmt.Errorf("%w: data at offset %d, expected %d", ErrOutOfOrder, offset, w.off)
	}
	if int64(len(data)) > w.meta.Size-w.off {
		return fmt.Errorf("%w: %d bytes at offset %d, past the %d announced", ErrTooLarge, len(data), offset, w.meta.Size)
	}
	for len(data) > 0 {
		n := copy(w.chunkBuf()[nonceSize+w.filled:nonceSize+w.lay.plainLen(w.next)], data)
		w.filled += n
		data = data[n:]
		w.off += int64(n)
		if err := w.sealFull(); err != nil {
			return err
		}
	}
	return nil
}

// sealFull seals and writes the chunk being filled if it is complete.
func (w *Writer) sealFull() error {
	if w.next == w.lay.chunks || w.filled < w.lay.plainLen(w.next) {
		return nil
	}
	buf := w.chunkBuf()
	w.sum.Write(buf[nonceSize : nonceSize+w.filled])
	frame, err := sealChunk(buf, w.filled, w.keys.payload, w.s.random, w.next, w.lay.last(w.next))
	if err == nil {
		_, err = w.f.WriteAt(frame, w.lay.offset(w.next))
	}
	if err != nil {
		// The hash has the chunk: the writer cannot go on, Resume rehashes.
		w.state, w.err = writerBroken, err
		return fmt.Errorf("filestore: failed to write the file: %w", err)
	}
	w.sealed += int64(w.filled)
	w.filled = 0
	w.next++
	return nil
}

// Sync makes every whole chunk written durable and returns durable, the
// number of plaintext bytes that survive a crash from now on. The bytes
// of the chunk being filled (fewer than 64 KiB past durable) are not
// covered: after a crash they are sent again.
func (w *Writer) Sync() (durable int64, err error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if err := w.s.syncFile(w.f); err != nil {
		w.state, w.err = writerBroken, err
		return 0, fmt.Errorf("filestore: failed to sync the file: %w", err)
	}
	return w.sealed, nil
}

// Finish completes the file once all of it was written: the SHA-256 of the
// plaintext must equal hash, which must be the one announced in the Meta
// given to Create. Then the file is made durable and readable, and the
// Writer is done. On a mismatch the file is removed and the error wraps
// [ErrHashMismatch]. Before the whole file was written Finish returns
// ErrIncomplete and the Writer stays usable. If only the folder's fsync
// fails after the rename, the file is complete and the error wraps
// [ErrNotDurable].
func (w *Writer) Finish(hash [32]byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.off != w.meta.Size {
		return fmt.Errorf("%w: %d of %d bytes written", ErrIncomplete, w.off, w.meta.Size)
	}
	var got [32]byte
	w.sum.Sum(got[:0])
	if got != hash || hash != w.meta.SHA256 {
		if err := w.Abort(); err != nil {
			return fmt.Errorf("%w; removing it failed: %w", ErrHashMismatch, err)
		}
		return fmt.Errorf("%w: its SHA-256 is %x, %x was announced", ErrHashMismatch, got, hash)
	}
	err := w.s.syncFile(w.f)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The file is closed; it stays partial, and can be resumed.
		w.done(writerClosed)
		w.s.release(w.id)
		return fmt.Errorf("filestore: failed to sync the file: %w", err)
	}
	w.done(writerFinished)
	defer w.s.release(w.id) // after the rename: a Resume must not open the file meanwhile
	return w.s.rename(w.s.path(w.id, extPart), w.s.path(w.id, extSealed))
}

// Close stops writing and keeps the partial file for [Store.Resume]. It
// syncs what can be kept; the chunk being filled is dropped.
func (w *Writer) Close() error {
	switch w.state {
	case writerFinished, writerClosed, writerAborted:
		return nil
	}
	var err error
	if w.state == writerOpen {
		err = w.s.syncFile(w.f)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.done(writerClosed)
	w.s.release(w.id)
	if err != nil {
		return fmt.Errorf("filestore: failed to close the file: %w", err)
	}
	return nil
}

// Abort stops writing and removes the partial file. It fails with ErrClosed
// after Finish or Close (use [Store.Delete] then).
func (w *Writer) Abort() error {
	switch w.state {
	case writerAborted:
		return nil
	case writerFinished, writerClosed:
		return fmt.Errorf("%w (%s)", ErrClosed, w.state)
	}
	w.f.Close()
	w.done(writerAborted)
	defer w.s.release(w.id)
	if err := os.Remove(w.s.path(w.id, extPart)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: failed to remove the file: %w", err)
	}
	if err := w.s.syncDir(w.s.dir); err != nil {
		return fmt.Errorf("%w (the file was removed: %w)", ErrNotDurable, err)
	}
	return nil
}
