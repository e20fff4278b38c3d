package filestore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// Sizes of the format (see FORMAT in the package documentation).
const (
	// ChunkSize is the plaintext length of every chunk but the last.
	ChunkSize = 64 << 10
	// MaxSize is the largest file the store keeps: 4 GiB.
	MaxSize = 4 << 30
	// MaxNameLen is the longest name, in bytes, a [Meta] may have.
	MaxNameLen = 1024
	// MaxMediaTypeLen is the longest media type, in bytes.
	MaxMediaTypeLen = 255
	// KeySize is the length of the master key given to [Open].
	KeySize = 32

	magic         = "SCFILE\x00"
	version       = 1
	nonceSize     = 12
	tagSize       = 16
	prefixSize    = len(magic) + 1 + IDSize + 4 + nonceSize // 56
	headerPad     = 256
	minSealedHdr  = headerPad + tagSize
	maxSealedHdr  = 1536 + tagSize
	frameOverhead = nonceSize + tagSize
	frameSize     = ChunkSize + frameOverhead // a whole chunk on disk: 65564 bytes

	headerInfo  = "securechat v1 file header "
	payloadInfo = "securechat v1 file payload "
)

// errFormat is wrapped in [ErrDamaged] by the header parser; it never
// reaches callers on its own.
var errFormat = errors.New("malformed header")

// check reports why m cannot be stored, or nil.
func (m Meta) check() error {
	switch {
	case m.Size < 0 || m.Size > MaxSize:
		return fmt.Errorf("%w: %d bytes announced, at most %d are kept", ErrTooLarge, m.Size, int64(MaxSize))
	case len(m.Name) > MaxNameLen:
		return fmt.Errorf("filestore: the name is %d bytes long, at most %d are kept", len(m.Name), MaxNameLen)
	case len(m.MediaType) > MaxMediaTypeLen:
		return fmt.Errorf("filestore: the media type is %d bytes long, at most %d are kept", len(m.MediaType), MaxMediaTypeLen)
	case !utf8.ValidString(m.Name) || !utf8.ValidString(m.MediaType):
		return errors.New("filestore: the name and the media type must be UTF-8")
	}
	return nil
}

// headerPlainLen is the padded length of m's header plaintext.
func headerPlainLen(m Meta) int {
	n := 8 + sha256.Size + 1 + len(m.MediaType) + 2 + len(m.Name)
	return (n + headerPad - 1) / headerPad * headerPad
}

// headerLen is the length on disk of m's whole header: where chunk 0 starts.
func headerLen(m Meta) int64 {
	return int64(prefixSize + headerPlainLen(m) + tagSize)
}

// encodeHeader returns the header plaintext of m; m must pass check.
func encodeHeader(m Meta) []byte {
	b := make([]byte, 0, headerPlainLen(m))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Size))
	b = append(b, m.SHA256[:]...)
	b = append(b, byte(len(m.MediaType)))
	b = append(b, m.MediaType...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Name)))
	b = append(b, m.Name...)
	return b[:cap(b)] // the padding: make zeroed the spare capacity
}

// decodeHeader parses a header plaintext. It accepts exactly what
// encodeHeader produces.
func decodeHeader(b []byte) (Meta, error) {
	var m Meta
	if len(b) < 8+sha256.Size+1 || len(b)%headerPad != 0 || len(b) > maxSealedHdr-tagSize {
		return m, errFormat
	}
	size := binary.BigEndian.Uint64(b)
	if size > MaxSize {
		return m, errFormat
	}
	m.Size = int64(size)
	copy(m.SHA256[:], b[8:])
	rest := b[8+sha256.Size:]
	n := int(rest[0])
	if len(rest) < 1+n+2 {
		return m, errFormat
	}
	m.MediaType = string(rest[1 : 1+n])
	rest = rest[1+n:]
	n = int(binary.BigEndian.Uint16(rest))
	if n > MaxNameLen || len(rest) < 2+n {
		return m, errFormat
	}
	m.Name = string(rest[2 : 2+n])
	rest = rest[2+n:]
	if len(rest) >= headerPad {
		return m, errFormat // more padding than needed
	}
	for _, c := range rest {
		if c != 0 {
			return m, errFormat
		}
	}
	if m.check() != nil {
		return m, errFormat
	}
	return m, nil
}

// fileKeys are the two AES-256-GCM keys of one file.
type fileKeys struct {
	header, payload cipher.AEAD
}

// deriveKeys derives the keys of the file id from the master key.
func deriveKeys(master []byte, id ID) (fileKeys, error) {
	var k fileKeys
	var err error
	if k.header, err = deriveAEAD(master, headerInfo, id); err != nil {
		return k, err
	}
	k.payload, err = deriveAEAD(master, payloadInfo, id)
	return k, err
}

// deriveKey is HKDF-SHA256(IKM = master, salt = empty, info = info || id).
func deriveKey(master []byte, info string, id ID) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, master, nil, info+string(id[:]), 32)
	if err != nil {
		return nil, fmt.Errorf("filestore: failed to derive a file key: %w", err)
	}
	return key, nil
}

func deriveAEAD(master []byte, info string, id ID) (cipher.AEAD, error) {
	key, err := deriveKey(master, info, id)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealHeader returns the whole header of the file id.
func sealHeader(aead cipher.AEAD, id ID, nonce []byte, m Meta) []byte {
	plain := encodeHeader(m)
	b := make([]byte, prefixSize, prefixSize+len(plain)+tagSize)
	copy(b, magic)
	b[len(magic)] = version
	copy(b[len(magic)+1:], id[:])
	binary.BigEndian.PutUint32(b[len(magic)+1+IDSize:], uint32(len(plain)+tagSize))
	copy(b[prefixSize-nonceSize:], nonce)
	return aead.Seal(b, nonce, plain, b[:prefixSize])
}

// readHeader reads and opens the header of the file id from r. It returns
// the file's metadata and the offset of chunk 0. A failure to read is
// returned as such; every other failure wraps [ErrDamaged] (and
// io.ErrUnexpectedEOF for a file too short for its header).
func readHeader(r io.ReaderAt, id ID, aead cipher.AEAD) (Meta, int64, error) {
	// One read for the longest header: a file is opened with few calls.
	buf := make([]byte, prefixSize+maxSealedHdr)
	n, err := r.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return Meta{}, 0, fmt.Errorf("filestore: failed to read the header: %w", err)
	}
	buf = buf[:n]
	if n < prefixSize {
		return Meta{}, 0, damaged("the header is cut", io.ErrUnexpectedEOF)
	}
	prefix := buf[:prefixSize]
	switch {
	case string(prefix[:len(magic)]) != magic:
		return Meta{}, 0, damaged("not a SecureChat file", nil)
	case prefix[len(magic)] != version:
		return Meta{}, 0, damaged(fmt.Sprintf("unknown version %d", prefix[len(magic)]), nil)
	case [IDSize]byte(prefix[len(magic)+1:]) != id:
		return Meta{}, 0, damaged("the header belongs to another file", nil)
	}
	l := int(binary.BigEndian.Uint32(prefix[len(magic)+1+IDSize:]))
	if l < minSealedHdr || l > maxSealedHdr || (l-tagSize)%headerPad != 0 {
		return Meta{}, 0, damaged("bad header length", nil)
	}
	if n < prefixSize+l {
		return Meta{}, 0, damaged("the header is cut", io.ErrUnexpectedEOF)
	}
	sealed := buf[prefixSize : prefixSize+l]
	plain, err := aead.Open(sealed[:0], prefix[prefixSize-nonceSize:], sealed, prefix)
	if err != nil {
		return Meta{}, 0, damaged("the header does not open", nil)
	}
	m, err := decodeHeader(plain)
	if err != nil {
		return Meta{}, 0, damaged("the header does not parse", nil)
	}
	return m, int64(prefixSize + l), nil
}

// damaged returns an error that wraps ErrDamaged, and cause if not nil.
func damaged(what string, cause error) error {
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrDamaged, what, cause)
	}
	return fmt.Errorf("%w: %s", ErrDamaged, what)
}

// layout is where the chunks of a file of a given size are.
type layout struct {
	start  int64 // offset of chunk 0: the header's length
	size   int64 // plaintext size
	chunks int64 // N
}

func newLayout(start, size int64) layout {
	n := (size + ChunkSize - 1) / ChunkSize
	return layout{start: start, size: size, chunks: max(n, 1)}
}

// plainLen is the plaintext length of chunk i.
func (l layout) plainLen(i int64) int {
	if i < l.chunks-1 {
		return ChunkSize
	}
	return int(l.size - (l.chunks-1)*ChunkSize)
}

// offset is where chunk i starts in the file.
func (l layout) offset(i int64) int64 { return l.start + i*frameSize }

// fileLen is the length of the complete file.
func (l layout) fileLen() int64 { return l.start + l.size + l.chunks*frameOverhead }

func (l layout) last(i int64) bool { return i == l.chunks-1 }

// framePool holds chunk buffers, so that opening files one after another
// (thumbnails, resumes) does not allocate 64 KiB each time.
var framePool = sync.Pool{New: func() any { return new([frameSize]byte) }}

// getFrame returns a buffer of frameSize bytes; putFrame takes it back
// once nothing refers to it.
func getFrame() []byte { return framePool.Get().(*[frameSize]byte)[:] }

func putFrame(b []byte) {
	if b != nil {
		framePool.Put((*[frameSize]byte)(b[:frameSize]))
	}
}

// chunkAD is the associated data of chunk i: its index and the last flag.
func chunkAD(i int64, last bool) [9]byte {
	var ad [9]byte
	binary.BigEndian.PutUint64(ad[:], uint64(i))
	if last {
		ad[8] = 1
	}
	return ad
}

// sealChunk seals chunk i in place: frame holds the chunk's plaintext from
// byte nonceSize on, and room for the tag after it. It writes a nonce read
// from rand in front and returns the chunk as it goes to disk.
func sealChunk(frame []byte, plainLen int, aead cipher.AEAD, rand io.Reader, i int64, last bool) ([]byte, error) {
	nonce := frame[:nonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("filestore: no randomness for a nonce: %w", err)
	}
	ad := chunkAD(i, last)
	plain := frame[nonceSize : nonceSize+plainLen]
	aead.Seal(plain[:0], nonce, plain, ad[:])
	return frame[:nonceSize+plainLen+tagSize], nil
}

// openChunk opens chunk i in place and returns its plaintext, which shares
// frame's memory.
func openChunk(frame []byte, aead cipher.AEAD, i int64, last bool) ([]byte, error) {
	if len(frame) < frameOverhead {
		return nil, errors.New("short chunk")
	}
	ad := chunkAD(i, last)
	ct := frame[nonceSize:]
	return aead.Open(ct[:0], frame[:nonceSize], ct, ad[:])
}
