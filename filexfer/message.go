package filexfer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"
)

// WithdrawnHold is how long an offer that its sender withdrew before the
// receiver's user answered still counts among the sender's waiting
// offers (see [MaxWaitingOffers]): offering and withdrawing in a loop
// leaves at most MaxWaitingOffers of them per WithdrawnHold.
const WithdrawnHold = 10 * time.Minute

// Message types: the first byte of a record plaintext, in the chat layer's
// type space (docs/PROTOCOL.md section 5, where 0x01 to 0x07 are taken and
// 0x10 is Finished).
const (
	TypeOffer    byte = 0x08 // sender → receiver
	TypeAccept   byte = 0x09 // receiver → sender
	TypeDecline  byte = 0x0a // receiver → sender
	TypeChunk    byte = 0x0b // sender → receiver
	TypeProgress byte = 0x0c // receiver → sender
	TypeCancel   byte = 0x0d // sender → receiver
	TypeDone     byte = 0x0e // receiver → sender
)

// IsType reports whether t is the type byte of a file message, one that
// [Parse] decodes.
func IsType(t byte) bool { return t >= TypeOffer && t <= TypeDone }

// Sizes and limits of the protocol.
const (
	// IDSize is the size of a transfer id.
	IDSize = 16
	// ChunkSize is the length of every chunk but the last of a file. A
	// sealed chunk record is 49,202 bytes: under half the 128 KiB frame
	// limit, and under the largest chat Text, so that a chat message
	// waits behind at most one chunk of that size (package doc).
	ChunkSize = 48 << 10
	// Window is how many bytes a sender may send beyond the receiver's
	// durable offset: 16 chunks (768 KiB). It bounds what a slow receiver makes the
	// sender hold, and what a receiver must take before it reports
	// progress.
	Window = 16 * ChunkSize
	// MaxSize is the largest file, 4 GiB. The smallest is 1 byte.
	MaxSize = 4 << 30
	// MaxWaitingOffers is how many of one sender's offers a receiver
	// keeps waiting for its user's answer (or, withdrawn by the sender
	// before an answer, for WithdrawnHold after the offer); it declines
	// a new one beyond that with CodeBusy.
	MaxWaitingOffers = 32
	// MaxMediaTypeBytes bounds an offer's media type.
	MaxMediaTypeBytes = 255
	// MaxNameBytes bounds an offer's name, in bytes of UTF-8: a name of
	// 255 UTF-16 code units (the Windows and macOS limit) is at most 765.
	MaxNameBytes = 1024
	// MaxReasonBytes bounds the text of a Decline or a Cancel.
	MaxReasonBytes = 255
	// MaxMessageSize is the largest message of this package: a Chunk of
	// ChunkSize bytes.
	MaxMessageSize = chunkHeader + ChunkSize
)

const (
	offerFixed  = 1 + IDSize + 8 + sha256.Size + 1 // up to the media type
	chunkHeader = 1 + IDSize + 8
	offsetSize  = 1 + IDSize + 8 // Accept, Progress
	endHeader   = 1 + IDSize + 1 // Decline, Cancel
	doneSize    = 1 + IDSize
)

// ID names one transfer: 16 random bytes the sender draws.
type ID [IDSize]byte

// NewID draws a random transfer id.
func NewID() ID {
	var id ID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return id
}

// String is the id in lower-case hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Message is one of [Offer], [Accept], [Decline], [Chunk], [Progress],
// [Cancel] and [Done].
type Message interface {
	// Transfer is the id of the transfer the message is about.
	Transfer() ID
	// Marshal encodes the message, type byte first. It fails with
	// [ErrInvalid] for a value that Parse would refuse.
	Marshal() ([]byte, error)
	message()
}

// Offer proposes a file: sender → receiver. It is sent again, unchanged,
// on every new connection until the transfer ends.
type Offer struct {
	ID        ID
	Size      uint64            // 1 to MaxSize
	SHA256    [sha256.Size]byte // of the whole file
	MediaType string            // "type/subtype", lower case, no parameters
	Name      string            // the sender's name for the file (see SafeName)
}

// Accept says that the receiver's user accepted the offer, and where the
// sender starts: receiver → sender, once per Offer the receiver takes.
type Accept struct {
	ID     ID
	Offset uint64 // bytes the receiver holds durably: 0 the first time
}

// Decline ends a transfer from the receiver's side, before or after it
// accepted: receiver → sender.
type Decline struct {
	ID     ID
	Code   Code
	Reason string // 0 to MaxReasonBytes of UTF-8, for logs
}

// Chunk carries bytes of the file: sender → receiver.
type Chunk struct {
	ID     ID
	Offset uint64 // a multiple of ChunkSize
	Data   []byte // ChunkSize bytes, fewer only for the last chunk
}

// Progress reports the bytes the receiver has made durable, which is also
// the sender's flow-control credit: receiver → sender.
type Progress struct {
	ID      ID
	Durable uint64
}

// Cancel ends a transfer from the sender's side: sender → receiver.
type Cancel struct {
	ID     ID
	Code   Code
	Reason string
}

// Done says that the receiver verified the file's SHA-256 and kept it:
// receiver → sender.
type Done struct {
	ID ID
}

// Transfer is the id of the transfer the offer is about.
func (m Offer) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the accept is about.
func (m Accept) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the decline is about.
func (m Decline) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the chunk is about.
func (m Chunk) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the progress is about.
func (m Progress) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the cancel is about.
func (m Cancel) Transfer() ID { return m.ID }

// Transfer is the id of the transfer the done is about.
func (m Done) Transfer() ID { return m.ID }

func (Offer) message()    {}
func (Accept) message()   {}
func (Decline) message()  {}
func (Chunk) message()    {}
func (Progress) message() {}
func (Cancel) message()   {}
func (Done) message()     {}

// Every check below serves both Marshal and Parse, so that what one
// accepts the other does.

func (m Offer) check() error {
	switch {
	case m.Size == 0:
		return &invalidErr{msg: "offer: size 0", cause: ErrEmptyFile}
	case m.Size > MaxSize:
		return &invalidErr{msg: fmt.Sprintf("offer: size %d over %d", m.Size, uint64(MaxSize)), cause: ErrTooLarge}
	}
	if err := checkMediaType(m.MediaType); err != nil {
		return invalid("offer", "%v", err)
	}
	if err := checkText("name", m.Name, 1, MaxNameBytes); err != nil {
		return invalid("offer", "%v", err)
	}
	return nil
}

func (m Accept) check() error   { return checkOffset("accept", m.Offset) }
func (m Progress) check() error { return checkOffset("progress", m.Durable) }
func (m Decline) check() error  { return checkEnd("decline", m.Code, m.Reason, CodeSourceChanged) }
func (m Cancel) check() error {
	if m.Code != CodeCancelled && m.Code != CodeSourceChanged && m.Code != CodeProtocol {
		return invalid("cancel", "code %d (a cancel carries %d, %d or %d)", m.Code, CodeCancelled, CodeSourceChanged, CodeProtocol)
	}
	return checkEnd("cancel", m.Code, m.Reason, 0)
}

func (m Chunk) check() error {
	switch {
	case len(m.Data) == 0:
		return invalid("chunk", "no data")
	case len(m.Data) > ChunkSize:
		return invalid("chunk", "%d bytes of data, at most %d", len(m.Data), ChunkSize)
	case m.Offset%ChunkSize != 0:
		return invalid("chunk", "offset %d is not a multiple of %d", m.Offset, ChunkSize)
	case m.Offset > MaxSize-uint64(len(m.Data)):
		return invalid("chunk", "bytes %d+%d go past %d", m.Offset, len(m.Data), uint64(MaxSize))
	}
	return nil
}

func checkOffset(what string, off uint64) error {
	if off > MaxSize {
		return invalid(what, "offset %d over %d", off, uint64(MaxSize))
	}
	return nil
}

// checkEnd checks a Decline's or a Cancel's code and reason; not is a code
// that this message never carries.
func checkEnd(what string, c Code, reason string, not Code) error {
	if !c.known() || c == not {
		return invalid(what, "unknown code %d", c)
	}
	if err := checkText("reason", reason, 0, MaxReasonBytes); err != nil {
		return invalid(what, "%v", err)
	}
	return nil
}

// checkText checks the length and the encoding of a UTF-8 field.
func checkText(field, s string, minLen, maxLen int) error {
	switch {
	case len(s) < minLen:
		return fmt.Errorf("empty %s", field)
	case len(s) > maxLen:
		return fmt.Errorf("%s of %d bytes, at most %d", field, len(s), maxLen)
	}
	if !utf8.ValidString(s) {
		for i := 0; ; {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("%s is not valid UTF-8 (byte %d)", field, i)
			}
			i += n
		}
	}
	return nil
}

// checkMediaType accepts "type/subtype" where both are RFC 6838
// restricted names, in lower case: 1 to 127 of a-z 0-9 ! # $ & - ^ _ . +,
// the first a letter or digit. No parameters, no spaces.
func checkMediaType(s string) error {
	if s == "" {
		return fmt.Errorf("empty media type")
	}
	if len(s) > MaxMediaTypeBytes {
		return fmt.Errorf("media type of %d bytes, at most %d", len(s), MaxMediaTypeBytes)
	}
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if slash >= 0 {
				return fmt.Errorf("media type %s has two slashes", excerpt(s, 16))
			}
			slash = i
		}
	}
	if slash < 0 {
		return fmt.Errorf("media type %s is not type/subtype", excerpt(s, 16))
	}
	for _, part := range [2]string{s[:slash], s[slash+1:]} {
		if len(part) == 0 || len(part) > 127 {
			return fmt.Errorf("media type %s: each part is 1 to 127 bytes", excerpt(s, 16))
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
			if !alnum && (i == 0 || !isRestrictedPunct(c)) {
				return fmt.Errorf("media type %s: byte 0x%02x is not allowed there (lower-case RFC 6838 names only)", excerpt(s, 16), c)
			}
		}
	}
	return nil
}

func isRestrictedPunct(c byte) bool {
	switch c {
	case '!', '#', '$', '&', '-', '^', '_', '.', '+':
		return true
	}
	return false
}

// Marshal encodes the offer.
func (m Offer) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, offerFixed+len(m.MediaType)+len(m.Name))
	b = append(b, TypeOffer)
	b = append(b, m.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Size)
	b = append(b, m.SHA256[:]...)
	b = append(b, byte(len(m.MediaType)))
	b = append(b, m.MediaType...)
	return append(b, m.Name...), nil
}

// Marshal encodes the accept.
func (m Accept) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return appendOffset(TypeAccept, m.ID, m.Offset), nil
}

// Marshal encodes the progress report.
func (m Progress) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return appendOffset(TypeProgress, m.ID, m.Durable), nil
}

// Marshal encodes the chunk.
func (m Chunk) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, chunkHeader+len(m.Data))
	b = append(b, TypeChunk)
	b = append(b, m.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Offset)
	return append(b, m.Data...), nil
}

// Marshal encodes the decline.
func (m Decline) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return appendEnd(TypeDecline, m.ID, m.Code, m.Reason), nil
}

// Marshal encodes the cancel.
func (m Cancel) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return appendEnd(TypeCancel, m.ID, m.Code, m.Reason), nil
}

// Marshal encodes the done.
func (m Done) Marshal() ([]byte, error) {
	return append([]byte{TypeDone}, m.ID[:]...), nil
}

func appendOffset(typ byte, id ID, off uint64) []byte {
	b := make([]byte, 0, offsetSize)
	b = append(b, typ)
	b = append(b, id[:]...)
	return binary.BigEndian.AppendUint64(b, off)
}

func appendEnd(typ byte, id ID, c Code, reason string) []byte {
	b := make([]byte, 0, endHeader+len(reason))
	b = append(b, typ)
	b = append(b, id[:]...)
	b = append(b, byte(c))
	return append(b, reason...)
}

var typeNames = map[byte]string{
	TypeOffer: "offer", TypeAccept: "accept", TypeDecline: "decline", TypeChunk: "chunk",
	TypeProgress: "progress", TypeCancel: "cancel", TypeDone: "done",
}

// header checks b's type byte and total length (minLen to maxLen) and
// returns the id and what follows it.
func header(b []byte, typ byte, minLen, maxLen int) (ID, []byte, error) {
	what := typeNames[typ]
	if len(b) == 0 {
		return ID{}, nil, invalid(what, "empty message")
	}
	if b[0] != typ {
		return ID{}, nil, invalid(what, "type 0x%02x, not 0x%02x", b[0], typ)
	}
	if len(b) < minLen || len(b) > maxLen {
		if minLen == maxLen {
			return ID{}, nil, invalid(what, "%d bytes, not %d", len(b), minLen)
		}
		return ID{}, nil, invalid(what, "%d bytes, not %d to %d", len(b), minLen, maxLen)
	}
	var id ID
	copy(id[:], b[1:])
	return id, b[1+IDSize:], nil
}

// ParseOffer decodes an Offer, type byte included.
func ParseOffer(b []byte) (Offer, error) {
	id, rest, err := header(b, TypeOffer, offerFixed+3+1, offerFixed+MaxMediaTypeBytes+MaxNameBytes)
	if err != nil {
		return Offer{}, err
	}
	m := Offer{ID: id, Size: binary.BigEndian.Uint64(rest)}
	rest = rest[8:]
	copy(m.SHA256[:], rest)
	rest = rest[sha256.Size:]
	n := int(rest[0])
	rest = rest[1:]
	if n >= len(rest) {
		return Offer{}, invalid("offer", "a media type of %d bytes leaves no name (%d bytes follow)", n, len(rest))
	}
	m.MediaType, m.Name = string(rest[:n]), string(rest[n:])
	if err := m.check(); err != nil {
		return Offer{}, err
	}
	return m, nil
}

// ParseAccept decodes an Accept, type byte included.
func ParseAccept(b []byte) (Accept, error) {
	id, rest, err := header(b, TypeAccept, offsetSize, offsetSize)
	if err != nil {
		return Accept{}, err
	}
	m := Accept{ID: id, Offset: binary.BigEndian.Uint64(rest)}
	if err := m.check(); err != nil {
		return Accept{}, err
	}
	return m, nil
}

// ParseProgress decodes a Progress, type byte included.
func ParseProgress(b []byte) (Progress, error) {
	id, rest, err := header(b, TypeProgress, offsetSize, offsetSize)
	if err != nil {
		return Progress{}, err
	}
	m := Progress{ID: id, Durable: binary.BigEndian.Uint64(rest)}
	if err := m.check(); err != nil {
		return Progress{}, err
	}
	return m, nil
}

// ParseChunk decodes a Chunk, type byte included. Data is a copy.
func ParseChunk(b []byte) (Chunk, error) {
	id, rest, err := header(b, TypeChunk, chunkHeader+1, chunkHeader+ChunkSize)
	if err != nil {
		return Chunk{}, err
	}
	m := Chunk{ID: id, Offset: binary.BigEndian.Uint64(rest), Data: append([]byte(nil), rest[8:]...)}
	if err := m.check(); err != nil {
		return Chunk{}, err
	}
	return m, nil
}

// ParseDecline decodes a Decline, type byte included.
func ParseDecline(b []byte) (Decline, error) {
	id, rest, err := header(b, TypeDecline, endHeader, endHeader+MaxReasonBytes)
	if err != nil {
		return Decline{}, err
	}
	m := Decline{ID: id, Code: Code(rest[0]), Reason: string(rest[1:])}
	if err := m.check(); err != nil {
		return Decline{}, err
	}
	return m, nil
}

// ParseCancel decodes a Cancel, type byte included.
func ParseCancel(b []byte) (Cancel, error) {
	id, rest, err := header(b, TypeCancel, endHeader, endHeader+MaxReasonBytes)
	if err != nil {
		return Cancel{}, err
	}
	m := Cancel{ID: id, Code: Code(rest[0]), Reason: string(rest[1:])}
	if err := m.check(); err != nil {
		return Cancel{}, err
	}
	return m, nil
}

// ParseDone decodes a Done, type byte included.
func ParseDone(b []byte) (Done, error) {
	id, _, err := header(b, TypeDone, doneSize, doneSize)
	if err != nil {
		return Done{}, err
	}
	return Done{ID: id}, nil
}

// Parse decodes any file message by its type byte. An error wraps
// [ErrInvalid]; the chat layer then ends the connection, as it does for
// any malformed message.
func Parse(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, invalid("message", "empty")
	}
	var (
		m   Message
		err error
	)
	switch b[0] {
	case TypeOffer:
		m, err = ParseOffer(b)
	case TypeAccept:
		m, err = ParseAccept(b)
	case TypeDecline:
		m, err = ParseDecline(b)
	case TypeChunk:
		m, err = ParseChunk(b)
	case TypeProgress:
		m, err = ParseProgress(b)
	case TypeCancel:
		m, err = ParseCancel(b)
	case TypeDone:
		m, err = ParseDone(b)
	default:
		return nil, invalid("message", "type 0x%02x is not a file message", b[0])
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}
