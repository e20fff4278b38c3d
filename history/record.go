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
	"math"
	"strings"
	"time"
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
	reason    string // status, end
}

const (
	roleHost    byte = 1
	roleConnect byte = 2

	statusDelivered byte = 1
	statusFailed    byte = 2
)

func roleByte(role string) byte {
	switch role {
	case "host":
		return roleHost
	case "connect":
		return roleConnect
	}
	return 0 // only a record read from a newer version has another role
}

func roleName(b byte) string {
	switch b {
	case roleHost:
		return "host"
	case roleConnect:
		return "connect"
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
		if r.delivered {
			st = statusDelivered
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
		r.delivered = d.byte() == statusDelivered
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

// nextFrame returns the offset of the first valid record header in b after
// offset 0, or -1.
func nextFrame(b []byte) int {
	for off := 1; off < len(b); {
		i := bytes.Index(b[off:], []byte(recMagic))
		if i < 0 {
			return -1
		}
		off += i
		if _, _, st := parseFrame(b[off:]); st != frameBad {
			return off
		}
		off++
	}
	return -1
}

// keyring derives and caches conversation keys.
type keyring struct {
	dataKey []byte
	keys    map[convID]cipher.AEAD
}

func (k *keyring) aead(c convID) (cipher.AEAD, error) {
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

// scanResult tells how far a scan of the records got.
type scanResult struct {
	// good is the end of the last framed record: bytes after it are a torn
	// or damaged tail that the next write truncates.
	good int
}

// scanRecords walks the records of data (the file after its header) and
// calls visit for each record that opens, in file order. Damaged records are
// reported through notice; the scan never stops early.
//
// It opens every record in place in data, which it changes, copying each
// plaintext into one string, then decodes them from that string, so that the
// strings of all records share a single allocation.
//
// reserve, if not nil, is told how many message records each conversation
// has before the first visit, so that the caller can size its slices.
func scanRecords(data []byte, base int, f fileID, keys *keyring, reserve func(c convID, messages int), visit func(c convID, seq uint64, r record), notice func(string)) scanResult {
	type opened struct {
		seq    uint64
		conv   uint32 // index in convs
		n      uint32
		lo, hi uint32
	}
	const minRecord = recHeaderSize + tagSize + 1
	if len(data) > math.MaxUint32 {
		notice("history file too large; only its first 4 GiB are read")
		data = data[:math.MaxUint32]
	}
	var (
		pos   int
		n     int             // records seen, 1-based in notices
		plain strings.Builder // every plaintext, one after the other
		// recs is sized once: growing it cost more than all the decryption.
		recs   = make([]opened, 0, len(data)/minRecord+1)
		convs  []convID // in order of appearance
		convIx = make(map[convID]uint32)
		adBuf  [fileIDSize + convIDSize + 8]byte
		result scanResult
	)
	plain.Grow(len(data))
	damaged := func(at int) {
		notice(fmt.Sprintf("record %d damaged, skipped (offset %d)", n, base+at))
	}
scan:
	for pos < len(data) {
		fr, size, st := parseFrame(data[pos:])
		switch st {
		case frameIncomplete:
			if next := nextFrame(data[pos:]); next > 0 {
				n++
				damaged(pos)
				pos += next
				continue
			}
			notice(fmt.Sprintf("incomplete last record ignored (offset %d, %d bytes)", base+pos, len(data)-pos))
			break scan
		case frameBad:
			n++
			damaged(pos)
			next := nextFrame(data[pos:])
			if next < 0 {
				break scan
			}
			pos += next
			continue
		}
		n++
		recOff := pos
		pos += size
		result.good = pos
		aead, err := keys.aead(fr.conv)
		if err != nil {
			damaged(recOff)
			continue
		}
		// Opened in place: the scan never looks at a record's bytes again.
		out, err := aead.Open(fr.sealed[:0], fr.nonce, fr.sealed, recordAD(adBuf[:0], f, fr.conv, fr.seq))
		if err != nil {
			damaged(recOff)
			continue
		}
		lo := plain.Len()
		plain.Write(out)
		clear(out)
		ci, ok := convIx[fr.conv]
		if !ok {
			ci = uint32(len(convs))
			convIx[fr.conv] = ci
			convs = append(convs, fr.conv)
		}
		recs = append(recs, opened{seq: fr.seq, conv: ci, n: uint32(n), lo: uint32(lo), hi: uint32(plain.Len())})
	}

	all := plain.String()
	if reserve != nil {
		counts := make([]int, len(convs))
		for _, o := range recs {
			if all[o.lo] == kindMessage {
				counts[o.conv]++
			}
		}
		for i, k := range counts {
			reserve(convs[i], k)
		}
	}
	for _, o := range recs {
		r, err := decodeRecord(all[o.lo:o.hi])
		switch {
		case errors.Is(err, errUnknownKind):
			notice(fmt.Sprintf("record %d of unknown kind %d skipped", o.n, r.kind))
			r = record{} // it still takes its place in the sequence
		case err != nil:
			notice(fmt.Sprintf("record %d malformed, skipped", o.n))
			r = record{}
		}
		visit(convs[o.conv], o.seq, r)
	}
	return result
}
