package history

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// ConversationMeta is what [Vault.BeginConversation] records first.
type ConversationMeta struct {
	Partner     string // the partner's display name
	Fingerprint string // the partner's identity key fingerprint
	Role        string // "host" or "connect"
	Addr        string // the partner's address
	Start       time.Time
}

// MessageRecord is one message, as a [Writer] appends it.
type MessageRecord struct {
	ID       string
	Outgoing bool
	Time     time.Time
	Text     string
}

// Writer appends the records of one conversation. Its methods are safe for
// concurrent use.
type Writer interface {
	// ID returns the conversation id, as [Vault.Load] takes it.
	ID() string
	// AppendMessage queues the record and calls durable(nil) once it is
	// fsynced, or durable(err). A burst of appends shares one write and one
	// fsync. durable is called from a history goroutine, never while holding
	// a lock the caller might need, and must not block.
	AppendMessage(m MessageRecord, durable func(error))
	// AppendStatus records that a message was delivered, or failed and why.
	// It is written with the next batch and not waited for; the error is
	// that of the last failed write, if any.
	AppendStatus(messageID string, delivered bool, reason string) error
	// End records the end of the conversation and waits until it is
	// durable. Nothing may be appended after it.
	End(reason string, at time.Time) error
}

// logFile is the history file as the committer uses it; tests wrap it.
type logFile interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// logWriter owns the history file: one goroutine (run) seals, writes and
// fsyncs whatever was queued while the previous batch was being written.
type logWriter struct {
	v   *Vault
	f   logFile
	fid fileID

	// Owned by the run goroutine after openLog.
	good   int64 // end of the last complete record: the next write goes here
	dirty  bool  // bytes after good must be truncated before the next write
	header bool  // the file header must be written first
	fixHdr bool  // the file header is damaged: rewrite it with the next write
	buf    []byte

	mu       sync.Mutex
	queue    []*entry
	closing  bool
	lastErr  error
	rewrites []*rewriteReq       // waiting for the committer
	gone     map[convID]struct{} // conversations deleted: no more appends
	outboxes map[string]*writer  // this open's outbox stream of each contact, started lazily
	wrap     func(logFile) logFile

	poke chan struct{}
	done chan struct{}
}

// applied is one record of a batch, as the index takes it.
type applied struct {
	c   convID
	seq uint64
	at  recordAt
	rec record
}

type entry struct {
	w       *writer
	rec     record
	seq     uint64
	at      recordAt // where the committer wrote it
	durable func(error)
}

// openLog reads the history file into the index, which keeps where each
// message is rather than its text, and starts the committer.
func (v *Vault) openLog(h hooks) error {
	osf, err := os.OpenFile(filepath.Join(v.dir, logFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history: failed to open history file: %w", err)
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return fmt.Errorf("history: failed to open history file: %w", err)
	}
	var f logFile = osf
	if h.wrapLog != nil {
		f = h.wrapLog(f)
	}
	lw := &logWriter{v: v, f: f, wrap: h.wrapLog, poke: make(chan struct{}, 1), done: make(chan struct{})}
	copy(lw.fid[:], v.prof.FileID)
	v.keys = &keyring{dataKey: v.dataKey}
	v.reader = &recordReader{r: f, fid: lw.fid, keys: v.keys}
	size := st.Size()
	if size < int64(logHeaderSize) {
		lw.header, lw.dirty = true, size > 0
		if size > 0 {
			v.idx.notice("history file header incomplete; it will be rewritten")
		}
	} else {
		hdr := make([]byte, logHeaderSize)
		if _, err := f.ReadAt(hdr, 0); err != nil {
			f.Close()
			return fmt.Errorf("history: failed to read history file: %w", err)
		}
		if !bytes.Equal(hdr, append([]byte(logMagic), lw.fid[:]...)) {
			v.idx.notice("history file header damaged; the next write repairs it")
			lw.fixHdr = true
		}
		v.idx.scanning = true
		res, err := scanRecords(f, int64(logHeaderSize), size, lw.fid, v.keys, v.idx.apply, v.idx.notice)
		if err != nil {
			f.Close()
			return err
		}
		lw.good = res.good
		lw.dirty = lw.good < size
		v.idx.finishScan()
		// Collect the scan's garbage now (the id tables, the read
		// buffers: 30 MiB at a million messages), so that loading a long
		// conversation next reuses that memory rather than adding to it.
		runtime.GC()
	}
	v.log = lw
	go lw.run()
	return nil
}

func (lw *logWriter) run() {
	defer close(lw.done)
	for {
		lw.mu.Lock()
		for len(lw.queue) == 0 && len(lw.rewrites) == 0 && !lw.closing {
			lw.mu.Unlock()
			<-lw.poke
			lw.mu.Lock()
		}
		batch := lw.queue
		lw.queue = nil
		rewrites := lw.rewrites
		lw.rewrites = nil
		// Records of deleted conversations queued before they were
		// deleted are not written.
		var dropped []*entry
		batch = slices.DeleteFunc(batch, func(e *entry) bool {
			_, gone := lw.gone[e.w.id]
			if gone {
				dropped = append(dropped, e)
			}
			return gone
		})
		lw.mu.Unlock()
		for _, e := range dropped {
			if e.durable != nil {
				e.durable(ErrClosed)
			}
		}
		if len(batch) == 0 && len(rewrites) == 0 && len(dropped) == 0 {
			return // closing, and everything is written
		}
		if len(batch) > 0 {
			lw.commit(batch)
		}
		for _, r := range rewrites {
			r.done <- lw.rewrite(r.contact)
		}
	}
}

// commit seals batch, writes it with one write and one fsync, adds it to the
// index and tells the callers.
func (lw *logWriter) commit(batch []*entry) {
	buf := lw.buf[:0]
	if lw.header {
		buf = append(buf, logMagic...)
		buf = append(buf, lw.fid[:]...)
	}
	next := make(map[*writer]uint64, 1)
	nonce := make([]byte, nonceSize)
	base := lw.good // buf is written here
	// written is every record of buf in file order, for the index: the
	// batch, and the start record of each outbox stream written first.
	written := make([]applied, 0, len(batch))
	for _, e := range batch {
		seq, ok := next[e.w]
		if !ok {
			seq = e.w.nextSeq
		}
		if seq == 0 && e.w.start != nil {
			// An outbox stream starts with its first durable record:
			// its start record goes first, in the same write.
			rand.Read(nonce)
			lo := len(buf)
			buf = sealRecord(buf, e.w.aead, lw.fid, e.w.id, 0, nonce, e.w.start.marshal())
			written = append(written, applied{c: e.w.id, seq: 0, rec: *e.w.start,
				at: recordAt{off: base + int64(lo), size: uint32(len(buf) - lo)}})
			seq = 1
		}
		e.seq = seq
		next[e.w] = seq + 1
		rand.Read(nonce)
		lo := len(buf)
		buf = sealRecord(buf, e.w.aead, lw.fid, e.w.id, seq, nonce, e.rec.marshal())
		e.at = recordAt{off: base + int64(lo), size: uint32(len(buf) - lo)}
		written = append(written, applied{c: e.w.id, seq: e.seq, at: e.at, rec: e.rec})
	}
	err := lw.write(buf)
	if cap(buf) <= 1<<20 {
		lw.buf = buf
	}
	if err == nil {
		for w, seq := range next {
			w.nextSeq = seq
		}
		lw.v.mu.Lock()
		for _, a := range written {
			lw.v.idx.apply(a.c, a.seq, a.at, a.rec)
		}
		lw.v.mu.Unlock()
	} else {
		err = fmt.Errorf("history: failed to save: %w", err)
	}
	lw.mu.Lock()
	lw.lastErr = err
	lw.mu.Unlock()
	for _, e := range batch {
		if e.durable != nil {
			e.durable(err)
		}
	}
}

// write appends b at the end of the last good record and fsyncs. On failure
// it cuts the file back, now or before the next write.
func (lw *logWriter) write(b []byte) error {
	if lw.dirty {
		if err := lw.f.Truncate(lw.good); err != nil {
			return err
		}
		lw.dirty = false
	}
	_, err := lw.f.WriteAt(b, lw.good)
	if err == nil && lw.fixHdr {
		_, err = lw.f.WriteAt(append([]byte(logMagic), lw.fid[:]...), 0)
	}
	if err == nil {
		err = lw.f.Sync()
	}
	if err != nil {
		lw.dirty = lw.f.Truncate(lw.good) != nil
		return err
	}
	lw.good += int64(len(b))
	lw.header, lw.fixHdr = false, false
	return nil
}

// enqueue queues rec for w; end marks w ended.
func (lw *logWriter) enqueue(w *writer, rec record, durable func(error), end bool) error {
	lw.mu.Lock()
	_, gone := lw.gone[w.id]
	if lw.closing || w.ended || gone {
		lw.mu.Unlock()
		return ErrClosed
	}
	w.ended = end
	lw.queue = append(lw.queue, &entry{w: w, rec: rec, durable: durable})
	lw.mu.Unlock()
	select {
	case lw.poke <- struct{}{}:
	default:
	}
	return nil
}

// appendWait queues rec and waits until it is durable.
func (lw *logWriter) appendWait(w *writer, rec record, end bool) error {
	done := make(chan error, 1)
	if err := lw.enqueue(w, rec, func(err error) { done <- err }, end); err != nil {
		return err
	}
	return <-done
}

func (lw *logWriter) close() error {
	lw.mu.Lock()
	if lw.closing {
		lw.mu.Unlock()
		<-lw.done
		return nil
	}
	lw.closing = true
	lw.mu.Unlock()
	select {
	case lw.poke <- struct{}{}:
	default:
	}
	<-lw.done
	if err := lw.f.Close(); err != nil {
		return fmt.Errorf("history: failed to close history file: %w", err)
	}
	return nil
}

// writer is the [Writer] of one conversation.
type writer struct {
	lw      *logWriter
	id      convID
	hexID   string
	aead    cipher.AEAD
	nextSeq uint64 // owned by the committer
	ended   bool   // guarded by lw.mu
	// start is the start record of an outbox stream, which the committer
	// writes before the stream's first record; nil for a conversation,
	// whose start BeginConversation writes.
	start *record
}

// BeginConversation starts a conversation in the history and waits until
// its start record is durable.
func (v *Vault) BeginConversation(m ConversationMeta) (Writer, error) {
	if m.Role != "host" && m.Role != "connect" {
		return nil, fmt.Errorf("history: role %q is neither host nor connect", m.Role)
	}
	if len(m.Partner) > maxFieldSize || len(m.Fingerprint) > maxFieldSize || len(m.Addr) > maxFieldSize {
		return nil, errors.New("history: conversation details too large to save")
	}
	if m.Start.IsZero() {
		m.Start = time.Now()
	}
	w := &writer{lw: v.log}
	rand.Read(w.id[:])
	w.hexID = hex.EncodeToString(w.id[:])
	v.mu.RLock()
	aead, err := conversationKey(v.dataKey, w.id) // the key is cleared by Close
	v.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	w.aead = aead
	rec := record{kind: kindStart, time: m.Start, partner: m.Partner, fingerprint: m.Fingerprint, role: m.Role, addr: m.Addr}
	if err := v.log.appendWait(w, rec, false); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *writer) ID() string { return w.hexID }

func (w *writer) AppendMessage(m MessageRecord, durable func(error)) {
	if durable == nil {
		durable = func(error) {}
	}
	var err error
	if len(m.Text) > maxTextSize || len(m.ID) > maxFieldSize {
		err = errors.New("history: message too large to save")
	} else {
		rec := record{kind: kindMessage, id: m.ID, outgoing: m.Outgoing, time: m.Time, text: m.Text}
		err = w.lw.enqueue(w, rec, durable, false)
	}
	if err != nil {
		go durable(err) // never on the caller's goroutine
	}
}

func (w *writer) AppendStatus(messageID string, delivered bool, reason string) error {
	if len(reason) > maxFieldSize || len(messageID) > maxFieldSize {
		return errors.New("history: status too large to save")
	}
	rec := record{kind: kindStatus, id: messageID, delivered: delivered, reason: reason}
	if err := w.lw.enqueue(w, rec, nil, false); err != nil {
		return err
	}
	w.lw.mu.Lock()
	defer w.lw.mu.Unlock()
	return w.lw.lastErr
}

func (w *writer) End(reason string, at time.Time) error {
	if len(reason) > maxFieldSize {
		reason = reason[:maxFieldSize]
	}
	return w.lw.appendWait(w, record{kind: kindEnd, time: at, reason: reason}, true)
}
