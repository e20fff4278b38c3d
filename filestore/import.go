package filestore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
)

// Import copies the plaintext read from src into the store as a complete
// file, as for a file the user sends: the thread can show it after a
// restart, and the transfer reads it back with [Store.Open]. Import computes
// the size and the SHA-256 (those of meta are ignored) and returns the id
// and the full metadata. src is read to its end, 64 KiB at a time; if
// reading fails or src holds more than [MaxSize] bytes, nothing is stored.
// If only the folder's fsync fails, the file is stored, and the error
// (returned with the id) wraps [ErrNotDurable].
func (s *Store) Import(src io.Reader, meta Meta) (ID, Meta, error) {
	meta.Size, meta.SHA256 = 0, [32]byte{}
	if err := meta.check(); err != nil {
		return ID{}, Meta{}, err
	}
	id, err := s.newID()
	if err != nil {
		return ID{}, Meta{}, err
	}
	keys, err := s.keys(id)
	if err != nil {
		return ID{}, Meta{}, err
	}
	tmp := s.path(id, extTemp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ID{}, Meta{}, fmt.Errorf("filestore: failed to create the file: %w", err)
	}
	meta, err = s.importTo(f, src, id, keys, meta)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("filestore: failed to write the file: %w", cerr)
	}
	if err != nil {
		os.Remove(tmp)
		return ID{}, Meta{}, err
	}
	if err := s.rename(tmp, s.path(id, extSealed)); err != nil {
		if errors.Is(err, ErrNotDurable) {
			return id, meta, err // stored
		}
		os.Remove(tmp)
		return ID{}, Meta{}, err
	}
	return id, meta, nil
}

// importTo writes the chunks read from src to f after room for the header,
// then the header, and syncs f.
func (s *Store) importTo(f *os.File, src io.Reader, id ID, keys fileKeys, meta Meta) (Meta, error) {
	start := headerLen(meta)
	// The chunk is read after the nonce's place, one byte more than a
	// chunk: it is the last when nothing follows. The frame has room for
	// that byte, which the tag then overwrites.
	frame := getFrame()
	defer putFrame(frame)
	sum := sha256.New()
	have := 0
	for i := int64(0); ; i++ {
		n, err := io.ReadFull(src, frame[nonceSize+have:nonceSize+ChunkSize+1])
		have += n
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			return meta, fmt.Errorf("filestore: failed to read the file to import: %w", err)
		}
		plainLen := min(have, ChunkSize)
		meta.Size += int64(plainLen)
		if meta.Size > MaxSize || !last && meta.Size == MaxSize {
			return meta, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, int64(MaxSize))
		}
		next := frame[nonceSize+ChunkSize]
		sum.Write(frame[nonceSize : nonceSize+plainLen])
		fr, err := sealChunk(frame, plainLen, keys.payload, s.random, i, last)
		if err != nil {
			return meta, err
		}
		if _, err := f.WriteAt(fr, start+i*frameSize); err != nil {
			return meta, fmt.Errorf("filestore: failed to write the file: %w", err)
		}
		if last {
			break
		}
		frame[nonceSize], have = next, 1
	}
	sum.Sum(meta.SHA256[:0])
	var nonce [nonceSize]byte
	if _, err := io.ReadFull(s.random, nonce[:]); err != nil {
		return meta, fmt.Errorf("filestore: no randomness for a nonce: %w", err)
	}
	if _, err := f.WriteAt(sealHeader(keys.header, id, nonce[:], meta), 0); err != nil {
		return meta, fmt.Errorf("filestore: failed to write the file: %w", err)
	}
	if err := s.syncFile(f); err != nil {
		return meta, fmt.Errorf("filestore: failed to sync the file: %w", err)
	}
	return meta, nil
}
