package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/filexfer"
)

// Message types inside a record's plaintext (docs/PROTOCOL.md, "Chat
// messages"). 0x10 is the handshake's Finished record.
const (
	msgText   byte = 0x01
	msgAck    byte = 0x02
	msgPing   byte = 0x03
	msgPong   byte = 0x04
	msgBye    byte = 0x05
	msgAccept byte = 0x06
	msgHello  byte = 0x07 // the first record after the handshake, both ways
)

// epochSize is the size of a controller's epoch: random, drawn at start,
// sent in the Hello record. Two links of one partner with the same epoch
// come from the same run of the partner.
const epochSize = 8

// MaxMessageBytes is the largest text body, in bytes of UTF-8.
const MaxMessageBytes = 64 << 10

// IDSize is the size of a message id in bytes (32 hex digits as a string).
const IDSize = 16

// MaxByeReason bounds a goodbye's reason, in bytes.
const MaxByeReason = 255

// ErrProtocol is wrapped by every error about a chat message that breaks
// the protocol; the session ends.
var ErrProtocol = errors.New("session: protocol violation")

// ErrTooLong is returned by Send for a text over [MaxMessageBytes].
var ErrTooLong = fmt.Errorf("session: message is longer than %d KiB", MaxMessageBytes>>10)

// ErrEmpty is returned by Send for an empty message.
var ErrEmpty = errors.New("session: message is empty")

// ErrInvalidText is returned by Send for text that is not valid UTF-8.
var ErrInvalidText = errors.New("session: message is not valid UTF-8")

// wireMsg is one decoded chat message.
type wireMsg struct {
	typ    byte
	id     [IDSize]byte    // text, ack
	time   time.Time       // text
	text   string          // text body, bye reason
	nonce  uint64          // ping, pong
	epoch  [epochSize]byte // hello
	reason string
	file   filexfer.Message // a file message (types 0x08 to 0x0e)
}

func encodeText(id [IDSize]byte, t time.Time, body string) []byte {
	b := make([]byte, 0, 1+IDSize+8+len(body))
	b = append(b, msgText)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixMilli()))
	return append(b, body...)
}

func encodeAck(id [IDSize]byte) []byte { return append([]byte{msgAck}, id[:]...) }

func encodePing(typ byte, nonce uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{typ}, nonce)
}

func encodeBye(reason string) []byte {
	for len(reason) > MaxByeReason {
		_, n := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-n]
	}
	return append([]byte{msgBye}, reason...)
}

func encodeAccept() []byte { return []byte{msgAccept} }

func encodeHello(epoch [epochSize]byte) []byte { return append([]byte{msgHello}, epoch[:]...) }

// checkText applies the rules for a message body.
func checkText(body string) error {
	switch {
	case body == "":
		return ErrEmpty
	case len(body) > MaxMessageBytes:
		return ErrTooLong
	case !utf8.ValidString(body):
		return ErrInvalidText
	}
	return nil
}

// parseMsg decodes a record's plaintext. Anything unknown or malformed is an
// error that ends the session.
func parseMsg(b []byte) (*wireMsg, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrProtocol)
	}
	m := &wireMsg{typ: b[0]}
	if filexfer.IsType(m.typ) {
		fm, err := filexfer.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		m.file = fm
		return m, nil
	}
	body := b[1:]
	switch m.typ {
	case msgText:
		if len(body) < IDSize+8 {
			return nil, fmt.Errorf("%w: text message too short", ErrProtocol)
		}
		copy(m.id[:], body)
		m.time = time.UnixMilli(int64(binary.BigEndian.Uint64(body[IDSize:])))
		text := body[IDSize+8:]
		if err := checkText(string(text)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		m.text = string(text)
	case msgAck:
		if len(body) != IDSize {
			return nil, fmt.Errorf("%w: ack of %d bytes", ErrProtocol, len(body))
		}
		copy(m.id[:], body)
	case msgPing, msgPong:
		if len(body) != 8 {
			return nil, fmt.Errorf("%w: ping of %d bytes", ErrProtocol, len(body))
		}
		m.nonce = binary.BigEndian.Uint64(body)
	case msgBye:
		if len(body) > MaxByeReason || !utf8.Valid(body) {
			return nil, fmt.Errorf("%w: malformed goodbye", ErrProtocol)
		}
		m.reason = string(body)
	case msgAccept:
		if len(body) != 0 {
			return nil, fmt.Errorf("%w: malformed accept", ErrProtocol)
		}
	case msgHello:
		if len(body) != epochSize {
			return nil, fmt.Errorf("%w: hello of %d bytes", ErrProtocol, len(body))
		}
		copy(m.epoch[:], body)
	case scrypto.MsgFinished:
		return nil, fmt.Errorf("%w: a second Finished message", ErrProtocol)
	default:
		return nil, fmt.Errorf("%w: unknown message type 0x%02x", ErrProtocol, m.typ)
	}
	return m, nil
}
