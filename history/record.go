package history

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"
	"unsafe"
)

// The history file: a header, then records, each framed so that a reader can
// find the next record after a damaged one. docs/HISTORY-FORMAT.md is the
// byte-by-byte description.
const (
	logMagic      = "SCHIST\x00\x01"
	fileIDSize    = 16
	logHeaderSize = len(logMagic) + fileIDSize

	recMagic      = "\xd3SCR"
	convIDSize    = 16
	nonceSize     = 12
	tagSize       = 16
	recHeaderSize = 4 + 4 + convIDSize + 8 + nonceSize + 4 // 48
	// maxSealedSize bounds a record's sealed payload (ciphertext and tag).
	maxSealedSize = 1 << 20
	// maxTextSize bounds the text of one message so its record always fits.
	maxTextSize = maxSealedSize / 2
	// maxFieldSize bounds every other string field of a record.
	maxFieldSize = 4096
	// maxRecordSize is the most bytes one framed record takes.
	maxRecordSize = recHeaderSize + maxSealedSize
	// messageFixedSize is the plaintext of a message record without its
	// id and text: kind, flags, time and the two lengths.
	messageFixedSize = 1 + 1 + 8 + 4 + 4

	conversationInfo = "securechat v1 conversation "
)

// Record kinds. A reader skips a kind it does not know, with a notice.
const (
	kindStart   byte = 1
	kindMessage byte = 2
	kindStatus  byte = 3
	kindEnd     byte = 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type fileID [fileIDSize]byte
type convID [convIDSize]byte

// record is the plaintext of one history record. Which fields are set
// depends on kind.
type record struct {
	kind byte
	time time.Time // start, message, end

	partner, fingerprint, role, addr string // start

	id       string // message, status
	outgoing bool   // message
	text     string // message

	delivered bool   // status
	cancelled bool   // status (outbox streams)
	reason    string // status, end
}

const (
	roleHost    byte = 1
	roleConnect byte = 2
	// roleOutbox starts an outbox stream: the messages queued for one
	// contact, and their delivered and cancelled marks.
	roleOutbox byte = 3

	statusDelivered byte = 1
	statusFailed    byte = 2
	statusCancelled byte = 3
)

// roleOutboxName is the role of an outbox stream in its [Summary].
const roleOutboxName = "outbox"

func roleByte(role string) byte {
	switch role {
	case "host":
		return roleHost
	case "connect":
		return roleConnect
	case roleOutboxName:
		return roleOutbox
	}
	return 0 // only a record read from a newer version has another role
}

func roleName(b byte) string {
	switch b {
	case roleHost:
		return "host"
	case roleConnect:
		return "connect"
	case roleOutbox:
		return roleOutboxName
	}
	return "unknown"
}

// appendTime encodes t as Unix nanoseconds; 0 stands for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(ns))
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// marshal encodes the record's plaintext: its kind, then the kind's fields.
func (r *record) marshal() []byte {
	b := make([]byte, 0, 64+len(r.text)+len(r.partner)+len(r.fingerprint)+len(r.addr)+len(r.reason)+len(r.id))
	b = append(b, r.kind)
	switch r.kind {
	case kindStart:
		b = appendTime(b, r.time)
		b = append(b, roleByte(r.role))
		b = appendString(b, r.partner)
		b = appendString(b, r.fingerprint)
		b = appendString(b, r.addr)
	case kindMessage:
		var flags byte
		if r.outgoing {
			flags = 1
		}
		b = append(b, flags)
		b = appendTime(b, r.time)
		b = appendString(b, r.id)
		b = appendString(b, r.text)
	case kindStatus:
		st := statusFailed
		switch {
		case r.delivered:
			st = statusDelivered
		case r.cancelled:
			st = statusCancelled
		}
		b = append(b, st)
		b = appendString(b, r.id)
		b = appendString(b, r.reason)
	case kindEnd:
		b = appendTime(b, r.time)
		b = appendString(b, r.reason)
	default:
		panic("history: marshal of unknown record kind") // only this package builds records
	}
	return b
}

// errUnknownKind is returned by decodeRecord for a kind from a newer version.
var errUnknownKind = errors.New("unknown record kind")

var errShortRecord = errors.New("record plaintext too short")

// decoder reads fields from a record plaintext. It works on a string so
// that the strings it returns share the caller's memory: at open, every
// plaintext is one string and records take no allocation of their own.
type decoder struct {
	b   string
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errShortRecord
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint(n int) uint64 {
	if d.err != nil || len(d.b) < n {
		d.err = errShortRecord
		return 0
	}
	var v uint64
	for i := range n {
		v = v<<8 | uint64(d.b[i])
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	v := int64(d.uint(8))
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func (d *decoder) string() string {
	n := d.uint(4)
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShortRecord
		return ""
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// decodeRecord parses a record plaintext. Bytes after the known fields are
// ignored, so that a newer version may append fields.
func decodeRecord(p string) (record, error) {
	d := decoder{b: p}
	r := record{kind: d.byte()}
	switch r.kind {
	case kindStart:
		r.time = d.time()
		r.role = roleName(d.byte())
		r.partner = d.string()
		r.fingerprint = d.string()
		r.addr = d.string()
	case kindMessage:
		r.outgoing = d.byte()&1 == 1
		r.time = d.time()
		r.id = d.string()
		r.text = d.string()
	case kindStatus:
		st := d.byte()
		r.delivered, r.cancelled = st == statusDelivered, st == statusCancelled
		r.id = d.string()
		r.reason = d.string()
	case kindEnd:
		r.time = d.time()
		r.reason = d.string()
	default:
		if d.err == nil {
			return r, errUnknownKind
		}
	}
	return r, d.err
}

// conversationKey derives the AES-256-GCM key of one conversation.
func conversationKey(dataKey []byte, id convID) (cipher.AEAD, error) {
	k, err := conversationKeyBytes(dataKey, id)
	if err != nil {
		return nil, err
	}
	return newGCM(k)
}

// conversationKeyBytes is HKDF-SHA256(dataKey, no salt, info
// "securechat v1 conversation " || id).
func conversationKeyBytes(dataKey []byte, id convID) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, dataKey, nil, conversationInfo+string(id[:]), 32)
	if err != nil {
		return nil, fmt.Errorf("history: failed to derive conversation key: %w", err)
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return cipher.NewGCM(block)
}

// recordAD is the associated data of a record: file id, conversation id and
// sequence number.
func recordAD(dst []byte, f fileID, c convID, seq uint64) []byte {
	dst = append(dst, f[:]...)
	dst = append(dst, c[:]...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// sealRecord appends the framed, sealed record to dst.
func sealRecord(dst []byte, aead cipher.AEAD, f fileID, c convID, seq uint64, nonce, plaintext []byte) []byte {
	start := len(dst)
	dst = append(dst, recMagic...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(plaintext)+tagSize))
	dst = append(dst, c[:]...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, nonce...)
	dst = append(dst, 0, 0, 0, 0)
	putCRC(dst[start:])
	var adBuf [fileIDSize + convIDSize + 8]byte
	return aead.Seal(dst, nonce, plaintext, recordAD(adBuf[:0], f, c, seq))
}

// putCRC sets the checksum of the record header h.
func putCRC(h []byte) {
	binary.BigEndian.PutUint32(h[recHeaderSize-4:], crc32.Checksum(h[:recHeaderSize-4], crcTable))
}

// frame is a record's framing, parsed and checked but not yet opened.
type frame struct {
	conv   convID
	seq    uint64
	nonce  []byte
	sealed []byte
}

// frameStatus says what [parseFrame] found at an offset.
type frameStatus int

const (
	frameOK         frameStatus = iota
	frameIncomplete             // a valid header whose record runs past the end of data, or too few bytes for a header
	frameBad                    // no valid header here
)

// parseFrame checks the record header at the start of b.
func parseFrame(b []byte) (frame, int, frameStatus) {
	if len(b) < recHeaderSize {
		return frame{}, 0, frameIncomplete
	}
	h := b[:recHeaderSize]
	if string(h[:4]) != recMagic || crc32.Checksum(h[:recHeaderSize-4], crcTable) != binary.BigEndian.Uint32(h[recHeaderSize-4:]) {
		return frame{}, 0, frameBad
	}
	n := binary.BigEndian.Uint32(h[4:8])
	if n < tagSize+1 || n > maxSealedSize {
		return frame{}, 0, frameBad
	}
	total := recHeaderSize + int(n)
	if len(b) < total {
		return frame{}, 0, frameIncomplete
	}
	var fr frame
	copy(fr.conv[:], h[8:24])
	fr.seq = binary.BigEndian.Uint64(h[24:32])
	fr.nonce = h[32:44]
	fr.sealed = b[recHeaderSize:total]
	return fr, total, frameOK
}

// keyring derives and caches conversation keys. It is safe for concurrent
// use.
type keyring struct {
	dataKey []byte
	mu      sync.Mutex
	keys    map[convID]cipher.AEAD
}

func (k *keyring) aead(c convID) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.keys[c]; ok {
		return a, nil
	}
	a, err := conversationKey(k.dataKey, c)
	if err != nil {
		return nil, err
	}
	if k.keys == nil {
		k.keys = make(map[convID]cipher.AEAD)
	}
	k.keys[c] = a
	return a, nil
}

// recordAt is where a record is in the history file.
type recordAt struct {
	off  int64  // offset of its header
	size uint32 // header and sealed payload
}

// scanChunk is how much of the history file a scan or a load reads at once.
const scanChunk = 4 << 20

// window reads a file through a buffer of at least scanChunk bytes, so that
// a scan holds a few MiB of the file at a time, whatever its size.
type window struct {
	r     io.ReaderAt
	end   int64 // the scan stops here
	chunk int   // bytes read at once, at least
	buf   []byte
	base  int64 // file offset of buf[0]
}

// at returns the bytes from off on: at least need of them, or all up to the
// end.
func (w *window) at(off int64, need int) ([]byte, error) {
	have := w.base + int64(len(w.buf))
	if off >= w.base && off <= have && (off+int64(need) <= have || have == w.end) {
		return w.buf[off-w.base:], nil
	}
	n := min(int64(max(w.chunk, need)), w.end-off)
	if int64(cap(w.buf)) < n {
		w.buf = make([]byte, n)
	}
	w.buf = w.buf[:n]
	w.base = off
	if k, err := w.r.ReadAt(w.buf, off); k < len(w.buf) {
		w.buf = w.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("history: failed to read history file: %w", err)
	}
	return w.buf, nil
}

// nextFrame returns the offset of the first valid record header after pos,
// or -1.
func (w *window) nextFrame(pos int64) (int64, error) {
	from := pos + 1
	for from < w.end {
		b, err := w.at(from, recHeaderSize)
		if err != nil {
			return -1, err
		}
		resume := from + int64(len(b)) - int64(len(recMagic)-1) // a magic may straddle the end of b
		for off := 0; off < len(b); {
			i := bytes.Index(b[off:], []byte(recMagic))
			if i < 0 {
				break
			}
			off += i
			if len(b)-off < recHeaderSize && from+int64(len(b)) < w.end {
				resume = from + int64(off) // read on to judge this header whole
				break
			}
			if _, _, st := parseFrame(b[off:]); st != frameBad {
				return from + int64(off), nil
			}
			off++
		}
		if from+int64(len(b)) >= w.end {
			return -1, nil
		}
		from = max(resume, from+1)
	}
	return -1, nil
}

// scanResult tells how far a scan of the records got.
type scanResult struct {
	// good is the end of the last framed record: bytes after it are a torn
	// or damaged tail that the next write truncates.
	good int64
}

// scanRecords walks the records of r from start to end and calls visit for
// each record that opens, in file order, with where it is. Damaged records
// are reported through notice; the scan never stops early, except for an
// error reading r. It holds a few MiB of the file at a time.
//
// The strings of the record given to visit share a buffer that the scan
// reuses: visit must copy what it keeps.
func scanRecords(r io.ReaderAt, start, end int64, f fileID, keys *keyring, visit func(c convID, seq uint64, at recordAt, rec record), notice func(string)) (scanResult, error) {
	return scanChunked(r, start, end, scanChunk, f, keys, visit, notice)
}

// scanChunked is [scanRecords] reading chunk bytes at once, at least; tests
// make it small so that records and headers straddle the reads.
func scanChunked(r io.ReaderAt, start, end int64, chunk int, f fileID, keys *keyring, visit func(c convID, seq uint64, at recordAt, rec record), notice func(string)) (scanResult, error) {
	var (
		w      = window{r: r, end: end, chunk: chunk}
		pos    = start
		n      int // records seen, 1-based in notices
		plain  []byte
		adBuf  [fileIDSize + convIDSize + 8]byte
		result = scanResult{good: start}
	)
	damaged := func(at int64) {
		notice(fmt.Sprintf("record %d damaged, skipped (offset %d)", n, at))
	}
	for pos < end {
		b, err := w.at(pos, maxRecordSize)
		if err != nil {
			return result, err
		}
		fr, size, st := parseFrame(b)
		if st != frameOK {
			// A record that runs past the end of the file is its torn tail,
			// unless a valid record follows it.
			next, err := w.nextFrame(pos)
			if err != nil {
				return result, err
			}
			if st == frameIncomplete && next < 0 {
				notice(fmt.Sprintf("incomplete last record ignored (offset %d, %d bytes)", pos, end-pos))
				break
			}
			n++
			damaged(pos)
			if next < 0 {
				break
			}
			pos = next
			continue
		}
		n++
		at := recordAt{off: pos, size: uint32(size)}
		pos += int64(size)
		result.good = pos
		aead, err := keys.aead(fr.conv)
		if err != nil {
			damaged(at.off)
			continue
		}
		plain, err = aead.Open(plain[:0], fr.nonce, fr.sealed, recordAD(adBuf[:0], f, fr.conv, fr.seq))
		if err != nil {
			damaged(at.off)
			continue
		}
		rec, err := decodeRecord(transient(plain))
		switch {
		case errors.Is(err, errUnknownKind):
			notice(fmt.Sprintf("record %d of unknown kind %d skipped", n, rec.kind))
			rec = record{} // it still takes its place in the sequence
		case err != nil:
			notice(fmt.Sprintf("record %d malformed, skipped", n))
			rec = record{}
		}
		visit(fr.conv, fr.seq, at, rec)
	}
	clear(plain)
	return result, nil
}

// transient returns b as a string without copying it. The string is valid
// only until b is next written: it is for decoding a record whose fields are
// copied before the buffer is reused.
func transient(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// recordReader reads message records at known offsets from the history
// file, while the committer may be appending past them.
type recordReader struct {
	r    io.ReaderAt
	fid  fileID
	keys *keyring
}

// maxReadGap is the most bytes of other records a read spans to reach the
// next message of a conversation, rather than starting another read.
const maxReadGap = 64 << 10

// messages reads the message records at refs, which belong to conversation
// c and are in file order, and calls each with the index in refs and the
// decoded record. The strings of the record share a buffer that is reused
// after the call. Records are read a few MiB at a time.
func (rd *recordReader) messages(c convID, refs []msgRef, each func(i int, r *record)) error {
	if len(refs) == 0 {
		return nil
	}
	aead, err := rd.keys.aead(c)
	if err != nil {
		return err
	}
	var (
		buf   []byte
		plain []byte
		adBuf [fileIDSize + convIDSize + 8]byte
		r     record // one for all: each takes its address
	)
	defer func() { clear(plain) }()
	for i := 0; i < len(refs); {
		// One read covers refs[i:j].
		lo, hi := refs[i].off, refs[i].off+int64(refs[i].size)
		j := i + 1
		for ; j < len(refs); j++ {
			end := refs[j].off + int64(refs[j].size)
			if refs[j].off-hi > maxReadGap || end-lo > scanChunk {
				break
			}
			hi = end
		}
		if int64(cap(buf)) < hi-lo {
			buf = make([]byte, hi-lo)
		}
		buf = buf[:hi-lo]
		if n, err := rd.r.ReadAt(buf, lo); n < len(buf) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("history: failed to read history file: %w", err)
		}
		for ; i < j; i++ {
			ref := refs[i]
			fr, size, st := parseFrame(buf[ref.off-lo:])
			if st != frameOK || size != int(ref.size) || fr.conv != c {
				return fmt.Errorf("history: the record at offset %d changed since the history was opened", ref.off)
			}
			plain, err = aead.Open(plain[:0], fr.nonce, fr.sealed, recordAD(adBuf[:0], rd.fid, c, fr.seq))
			if err != nil {
				return fmt.Errorf("history: the record at offset %d changed since the history was opened", ref.off)
			}
			r, err = decodeRecord(transient(plain))
			if err != nil || r.kind != kindMessage {
				return fmt.Errorf("history: the record at offset %d changed since the history was opened", ref.off)
			}
			each(i, &r)
		}
	}
	return nil
}
