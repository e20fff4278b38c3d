package history

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// logTempPrefix starts the name of a history file being rewritten. A file
// left with it by a crash is removed when the profile is opened: the
// history file it was to replace is still whole.
const logTempPrefix = logFileName + ".tmp"

// rewriteReq asks the committer to rewrite the history file without the
// conversations of one contact.
type rewriteReq struct {
	contact string
	done    chan error
}

// rewriteWithout rewrites the history file without the conversations of
// contact, on the committer's goroutine, between two batches.
func (lw *logWriter) rewriteWithout(contact string) error {
	r := &rewriteReq{contact: contact, done: make(chan error, 1)}
	lw.mu.Lock()
	if lw.closing {
		lw.mu.Unlock()
		return ErrClosed
	}
	lw.rewrites = append(lw.rewrites, r)
	lw.mu.Unlock()
	select {
	case lw.poke <- struct{}{}:
	default:
	}
	return <-r.done
}

// shift says that records from old offset from on moved delta bytes
// towards the start of the file.
type shift struct{ from, delta int64 }

// rewrite copies every framed record up to the good end, except those of
// contact's conversations, to a new file, flushes it, renames it over the
// history file, flushes the folder and moves the index's offsets. Records
// are copied as they are: their associated data (file id, conversation id,
// sequence number) does not change. Damaged bytes between records, which no
// reader can use, are not copied. It runs on the committer's goroutine.
func (lw *logWriter) rewrite(contact string) error {
	v := lw.v
	v.mu.RLock()
	drop := make(map[convID]struct{})
	for _, cv := range v.idx.thread(contact) {
		drop[cv.id] = struct{}{}
	}
	v.mu.RUnlock()
	if len(drop) == 0 {
		return nil
	}

	tmp, shifts, size, err := lw.copyWithout(drop)
	if err != nil {
		return fmt.Errorf("history: failed to rewrite the history file: %w", err)
	}

	// Readers hold fmu while they read at indexed offsets: none reads
	// while the file is replaced and the offsets move.
	v.fmu.Lock()
	defer v.fmu.Unlock()
	path := filepath.Join(v.dir, logFileName)
	// The old file is closed before the rename, which Windows needs.
	closeErr := lw.f.Close()
	renameErr := os.Rename(tmp, path)
	if renameErr != nil {
		os.Remove(tmp)
	}
	f, err := lw.reopen(path)
	if err != nil {
		// Neither file can be used: every later write fails and says so.
		lw.f = brokenFile{err}
		v.reader.r = brokenFile{err}
		return fmt.Errorf("history: failed to reopen the history file: %w", err)
	}
	lw.f = f
	v.reader.r = f
	if renameErr != nil {
		return fmt.Errorf("history: failed to replace the history file: %w", errors.Join(renameErr, closeErr))
	}

	lw.mu.Lock()
	if lw.gone == nil {
		lw.gone = make(map[convID]struct{})
	}
	for c := range drop {
		lw.gone[c] = struct{}{}
	}
	delete(lw.outboxes, contact) // a message queued later starts a new stream
	lw.mu.Unlock()

	v.mu.Lock()
	for c := range drop {
		delete(v.idx.convs, c)
	}
	delete(v.idx.contacts, contact)
	for _, cv := range v.idx.convs {
		for _, b := range cv.msgs.blocks {
			for i := range b {
				b[i].off = moved(shifts, b[i].off)
			}
		}
	}
	v.mu.Unlock()
	v.keys.forget(drop)
	lw.good = size
	lw.dirty, lw.header, lw.fixHdr = false, false, false

	if err := v.syncDir(v.dir); err != nil {
		return fmt.Errorf("%w (%s was replaced: %w)", ErrNotDurable, logFileName, err)
	}
	return nil
}

// moved returns the new offset of the record at old offset off.
func moved(shifts []shift, off int64) int64 {
	i := sort.Search(len(shifts), func(i int) bool { return shifts[i].from > off })
	if i == 0 {
		return off
	}
	return off - shifts[i-1].delta
}

func (lw *logWriter) reopen(path string) (logFile, error) {
	osf, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	var f logFile = osf
	if lw.wrap != nil {
		f = lw.wrap(f)
	}
	return f, nil
}

// copyWithout writes the new history file: the header, then every framed
// record before the good end whose conversation is not in drop. It returns
// the temporary file's path, where the kept records moved and the new
// file's size.
func (lw *logWriter) copyWithout(drop map[convID]struct{}) (string, []shift, int64, error) {
	out, err := os.CreateTemp(lw.v.dir, logTempPrefix+"*")
	if err != nil {
		return "", nil, 0, err
	}
	tmp := out.Name()
	fail := func(err error) (string, []shift, int64, error) {
		out.Close()
		os.Remove(tmp)
		return "", nil, 0, err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	bw.WriteString(logMagic)
	bw.Write(lw.fid[:])
	var (
		shifts []shift
		newOff = int64(logHeaderSize)
		delta  int64
		pos    = int64(logHeaderSize)
		w      = window{r: lw.f, end: lw.good, chunk: scanChunk}
	)
	for lw.good >= int64(logHeaderSize) && pos < lw.good {
		b, err := w.at(pos, maxRecordSize)
		if err != nil {
			return fail(err)
		}
		fr, size, st := parseFrame(b)
		if st != frameOK {
			next, err := w.nextFrame(pos)
			if err != nil {
				return fail(err)
			}
			if next < 0 {
				break
			}
			pos = next
			continue
		}
		if _, del := drop[fr.conv]; !del {
			if d := pos - newOff; d != delta {
				delta = d
				shifts = append(shifts, shift{from: pos, delta: d})
			}
			if _, err := bw.Write(b[:size]); err != nil {
				return fail(err)
			}
			newOff += int64(size)
		}
		pos += int64(size)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return "", nil, 0, err
	}
	return tmp, shifts, newOff, nil
}

// removeStaleTemps removes what a crash left of a rewrite of the history
// file or of a replacement of another file of the profile: the files they
// were to replace are whole.
func removeStaleTemps(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // the open that follows reports what is wrong
	}
	for _, e := range ents {
		n := e.Name()
		for _, final := range []string{logFileName, profileFileName, keyFileName} {
			if strings.HasPrefix(n, final+".tmp") && e.Type().IsRegular() {
				os.Remove(filepath.Join(dir, n))
			}
		}
	}
}

// brokenFile stands for a history file that could not be reopened.
type brokenFile struct{ err error }

func (b brokenFile) ReadAt([]byte, int64) (int, error)  { return 0, b.err }
func (b brokenFile) WriteAt([]byte, int64) (int, error) { return 0, b.err }
func (b brokenFile) Sync() error                        { return b.err }
func (b brokenFile) Truncate(int64) error               { return b.err }
func (b brokenFile) Close() error                       { return nil }

// forget drops the keys of deleted conversations.
func (k *keyring) forget(convs map[convID]struct{}) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for c := range convs {
		delete(k.keys, c)
	}
}
