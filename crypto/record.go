package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// RecordHeaderSize is the type byte plus the 8-byte sequence number.
const RecordHeaderSize = 1 + 8

// RecordOverhead is what sealing adds to a plaintext: header and GCM tag.
const RecordOverhead = RecordHeaderSize + 16

// ErrRecordAuth means a record failed authentication: it was changed on the
// way, or sealed with another key. The session must end.
var ErrRecordAuth = errors.New("crypto: record failed authentication: the connection was tampered with")

// ErrRecordOrder means a record carried an unexpected sequence number: a
// record was replayed, reordered or dropped on the way. The session must end.
// Errors that wrap it also wrap [ErrRecordAuth].
var ErrRecordOrder = errors.New("record out of sequence: a record was replayed, reordered or dropped")

// Sealer seals one direction's records: AES-256-GCM, the nonce a counter,
// the frame header authenticated. It is not safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	seq  uint64
}

// Opener opens the other direction's records, in order.
type Opener struct {
	aead cipher.AEAD
	seq  uint64
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("crypto: record key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to make record cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to make record cipher: %w", err)
	}
	return aead, nil
}

// NewSealer returns a Sealer for a 32-byte key, starting at sequence 0.
func NewSealer(key []byte) (*Sealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// NewOpener returns an Opener for a 32-byte key, expecting sequence 0 first.
func NewOpener(key []byte) (*Opener, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Opener{aead: aead}, nil
}

// recordAD is the associated data: the 4-byte frame length the transport
// puts before the record, then the record header.
func recordAD(frameLen int, header []byte) []byte {
	ad := binary.BigEndian.AppendUint32(make([]byte, 0, 4+RecordHeaderSize), uint32(frameLen))
	return append(ad, header...)
}

func recordNonce(seq uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n[:]
}

// Seal returns the record (the frame payload) for plaintext and advances
// the sequence number.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	if s.seq == math.MaxUint64 {
		return nil, errors.New("crypto: record sequence exhausted; reconnect")
	}
	if len(plaintext) > math.MaxUint32-RecordOverhead {
		return nil, errors.New("crypto: record too large")
	}
	out := make([]byte, RecordHeaderSize, RecordOverhead+len(plaintext))
	out[0] = TypeRecord
	binary.BigEndian.PutUint64(out[1:], s.seq)
	ad := recordAD(RecordOverhead+len(plaintext), out[:RecordHeaderSize])
	out = s.aead.Seal(out, recordNonce(s.seq), plaintext, ad)
	s.seq++
	return out, nil
}

// Open authenticates and decrypts the next record. Any error is final: the
// session must end, since the stream can no longer be trusted. Every frame
// that is not a valid record in sequence, a cleartext alert included, is
// [ErrRecordAuth]: nothing unauthenticated reaches the caller.
func (o *Opener) Open(record []byte) ([]byte, error) {
	pt, err := o.peek(record)
	if err != nil {
		return nil, err
	}
	o.seq++
	return pt, nil
}

// peek opens the next record without advancing the sequence number, so that
// a handshake step that fails after opening can leave the opener unchanged.
func (o *Opener) peek(record []byte) ([]byte, error) {
	if len(record) < RecordOverhead {
		return nil, fmt.Errorf("%w (record of %d bytes is too short)", ErrRecordAuth, len(record))
	}
	if record[0] != TypeRecord {
		return nil, fmt.Errorf("%w (unexpected message type 0x%02x)", ErrRecordAuth, record[0])
	}
	seq := binary.BigEndian.Uint64(record[1:RecordHeaderSize])
	if seq != o.seq {
		return nil, fmt.Errorf("%w: %w (got record %d, expected %d)", ErrRecordAuth, ErrRecordOrder, seq, o.seq)
	}
	ad := recordAD(len(record), record[:RecordHeaderSize])
	pt, err := o.aead.Open(nil, recordNonce(o.seq), record[RecordHeaderSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w (record %d)", ErrRecordAuth, seq)
	}
	return pt, nil
}
