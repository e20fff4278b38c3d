package crypto

import (
	"crypto/mlkem"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Handshake message types: the first byte of every frame before the record
// layer starts. docs/PROTOCOL.md gives every field.
const (
	TypeClientHello byte = 0x01
	TypeServerHello byte = 0x02
	TypeClientAuth  byte = 0x03
	TypeServerAuth  byte = 0x04
	TypeAlert       byte = 0x15
	TypeRecord      byte = 0x17
	// TypePlainHello opens a connection of the unencrypted demonstration
	// mode (--plaintext). A secure peer refuses it.
	TypePlainHello byte = 0x50
)

// Magic follows the type byte of both hellos, so that a stray client (a web
// browser, a TLS client) is recognised at once.
const Magic = "SecChat1"

// ProtocolVersion is the only version this implementation speaks.
const ProtocolVersion uint16 = 1

// Field sizes.
const (
	RandomSize     = 32
	X25519Size     = 32
	SecretSize     = 32   // the RSA-OAEP transported secret
	RSACipherSize  = 384  // RSA-3072 OAEP ciphertext and PSS signature
	MaxNameLen     = 64   // bytes of UTF-8
	MaxIdentityLen = 1024 // bytes of PKIX DER (an RSA-3072 key is 422)
	MaxReasonLen   = 255  // bytes of UTF-8 in an alert
)

// ErrMalformed is wrapped by every error about a handshake message that does
// not parse.
var ErrMalformed = errors.New("crypto: malformed handshake message")

// ErrNotSecureChat is returned when the first message is not a SecureChat
// hello at all (a web browser, a TLS client, random bytes).
var ErrNotSecureChat = errors.New("crypto: the peer does not speak the SecureChat protocol")

// ErrPlaintextPeer is returned when the peer opened with the unencrypted
// demonstration mode's hello.
var ErrPlaintextPeer = errors.New("crypto: the peer runs the unencrypted --plaintext demonstration mode; a secure chat refuses it")

// clientHello is the initiator's first message.
type clientHello struct {
	Version  uint16
	Random   [RandomSize]byte
	X25519   [X25519Size]byte
	MLKEMKey []byte // ML-KEM-768 encapsulation key
	Identity []byte // PKIX DER
	Name     string
}

// serverHello is the responder's answer.
type serverHello struct {
	Version  uint16
	Random   [RandomSize]byte
	X25519   [X25519Size]byte
	MLKEMCT  []byte // ML-KEM-768 ciphertext to the initiator's key
	SecretCT []byte // RSA-OAEP(initiator key, responder secret)
	Identity []byte
	Name     string
}

// clientAuth carries the initiator's transported secret and its signature.
type clientAuth struct {
	SecretCT  []byte // RSA-OAEP(responder key, initiator secret)
	Signature []byte
}

// serverAuth carries the responder's signature over the whole transcript.
type serverAuth struct {
	Signature []byte
}

// Alert is a plaintext message that ends a handshake, for example "busy".
type Alert struct {
	Code   AlertCode
	Reason string
}

// AlertCode says why a peer ended the handshake.
type AlertCode byte

// Alert codes.
const (
	AlertBusy          AlertCode = 1 // the host is already in a chat
	AlertProtocol      AlertCode = 2 // a malformed or unexpected message
	AlertVersion       AlertCode = 3 // no common protocol version
	AlertPlaintext     AlertCode = 4 // secure and plaintext peers refuse each other
	AlertAuthFailed    AlertCode = 5 // a signature or key confirmation failed
	AlertInternal      AlertCode = 6
	AlertSecureRefused AlertCode = 7 // a plaintext peer refuses a secure one
)

// Error makes an alert received from the peer usable as an error.
func (a *Alert) Error() string {
	return "peer ended the handshake: " + a.Reason
}

func (m *clientHello) marshal() []byte {
	b := make([]byte, 0, 1+len(Magic)+2+RandomSize+X25519Size+len(m.MLKEMKey)+2+len(m.Identity)+1+len(m.Name))
	b = append(b, TypeClientHello)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, m.Version)
	b = append(b, m.Random[:]...)
	b = append(b, m.X25519[:]...)
	b = append(b, m.MLKEMKey...)
	b = appendU16Bytes(b, m.Identity)
	b = appendU8Bytes(b, []byte(m.Name))
	return b
}

func parseClientHello(msg []byte) (*clientHello, error) {
	p := parser{b: msg}
	if err := p.hello(TypeClientHello); err != nil {
		return nil, err
	}
	m := &clientHello{Version: p.u16()}
	if m.Version != ProtocolVersion {
		return nil, fmt.Errorf("%w: the peer speaks protocol version %d, this program version %d", ErrVersion, m.Version, ProtocolVersion)
	}
	p.fixed(m.Random[:])
	p.fixed(m.X25519[:])
	m.MLKEMKey = p.bytes(mlkem.EncapsulationKeySize768)
	m.Identity = p.u16Bytes(MaxIdentityLen)
	m.Name = string(p.u8Bytes(MaxNameLen))
	if err := p.done("ClientHello"); err != nil {
		return nil, err
	}
	if err := checkName(m.Name); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *serverHello) marshal() []byte {
	b := make([]byte, 0, 1+len(Magic)+2+RandomSize+X25519Size+len(m.MLKEMCT)+2+len(m.SecretCT)+2+len(m.Identity)+1+len(m.Name))
	b = append(b, TypeServerHello)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, m.Version)
	b = append(b, m.Random[:]...)
	b = append(b, m.X25519[:]...)
	b = append(b, m.MLKEMCT...)
	b = appendU16Bytes(b, m.SecretCT)
	b = appendU16Bytes(b, m.Identity)
	b = appendU8Bytes(b, []byte(m.Name))
	return b
}

func parseServerHello(msg []byte) (*serverHello, error) {
	p := parser{b: msg}
	if err := p.hello(TypeServerHello); err != nil {
		return nil, err
	}
	m := &serverHello{Version: p.u16()}
	if m.Version != ProtocolVersion {
		return nil, fmt.Errorf("%w: the peer speaks protocol version %d, this program version %d", ErrVersion, m.Version, ProtocolVersion)
	}
	p.fixed(m.Random[:])
	p.fixed(m.X25519[:])
	m.MLKEMCT = p.bytes(mlkem.CiphertextSize768)
	m.SecretCT = p.u16Bytes(RSACipherSize)
	m.Identity = p.u16Bytes(MaxIdentityLen)
	m.Name = string(p.u8Bytes(MaxNameLen))
	if err := p.done("ServerHello"); err != nil {
		return nil, err
	}
	if len(m.SecretCT) != RSACipherSize {
		return nil, fmt.Errorf("%w: ServerHello key transport is %d bytes, want %d", ErrMalformed, len(m.SecretCT), RSACipherSize)
	}
	if err := checkName(m.Name); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *clientAuth) marshal() []byte {
	b := []byte{TypeClientAuth}
	b = appendU16Bytes(b, m.SecretCT)
	return appendU16Bytes(b, m.Signature)
}

func parseClientAuth(msg []byte) (*clientAuth, error) {
	p := parser{b: msg}
	if err := p.typ(TypeClientAuth); err != nil {
		return nil, err
	}
	m := &clientAuth{SecretCT: p.u16Bytes(RSACipherSize), Signature: p.u16Bytes(RSACipherSize)}
	if err := p.done("ClientAuth"); err != nil {
		return nil, err
	}
	if len(m.SecretCT) != RSACipherSize || len(m.Signature) != RSACipherSize {
		return nil, fmt.Errorf("%w: ClientAuth fields must be %d bytes", ErrMalformed, RSACipherSize)
	}
	return m, nil
}

func (m *serverAuth) marshal() []byte {
	return appendU16Bytes([]byte{TypeServerAuth}, m.Signature)
}

func parseServerAuth(msg []byte) (*serverAuth, error) {
	p := parser{b: msg}
	if err := p.typ(TypeServerAuth); err != nil {
		return nil, err
	}
	m := &serverAuth{Signature: p.u16Bytes(RSACipherSize)}
	if err := p.done("ServerAuth"); err != nil {
		return nil, err
	}
	if len(m.Signature) != RSACipherSize {
		return nil, fmt.Errorf("%w: ServerAuth signature must be %d bytes", ErrMalformed, RSACipherSize)
	}
	return m, nil
}

// MarshalAlert encodes an alert message. A reason longer than
// [MaxReasonLen] bytes is cut at a character boundary.
func MarshalAlert(a Alert) []byte {
	r := a.Reason
	for len(r) > MaxReasonLen {
		_, size := utf8.DecodeLastRuneInString(r)
		r = r[:len(r)-size]
	}
	return appendU8Bytes([]byte{TypeAlert, byte(a.Code)}, []byte(r))
}

// ParseAlert decodes an alert message.
func ParseAlert(msg []byte) (*Alert, error) {
	p := parser{b: msg}
	if err := p.typ(TypeAlert); err != nil {
		return nil, err
	}
	var code [1]byte
	p.fixed(code[:])
	reason := p.u8Bytes(MaxReasonLen)
	if err := p.done("Alert"); err != nil {
		return nil, err
	}
	if !utf8.Valid(reason) {
		return nil, fmt.Errorf("%w: alert reason is not UTF-8", ErrMalformed)
	}
	return &Alert{Code: AlertCode(code[0]), Reason: sanitize(string(reason))}, nil
}

// MarshalPlainHello encodes the hello of the unencrypted demonstration mode.
func MarshalPlainHello() []byte {
	return append([]byte{TypePlainHello}, Magic...)
}

// IsPlainHello reports whether msg is the demonstration mode's hello.
func IsPlainHello(msg []byte) bool {
	return len(msg) == 1+len(Magic) && msg[0] == TypePlainHello && string(msg[1:]) == Magic
}

// ErrVersion is wrapped when the peer speaks another protocol version.
var ErrVersion = errors.New("crypto: unsupported protocol version")

// checkName accepts a display name of 1 to MaxNameLen bytes of UTF-8 without
// control characters.
func checkName(name string) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// CheckName reports whether name can be a display name: 1 to [MaxNameLen]
// bytes of UTF-8, no control characters.
func CheckName(name string) error {
	if name == "" {
		return errors.New("display name is empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("display name is longer than %d bytes", MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("display name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("display name contains a control character")
		}
	}
	return nil
}

// sanitize drops control characters from text received before
// authentication, so that a peer cannot paint the user's terminal.
func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if !unicode.IsControl(r) {
			out = append(out, r)
		}
	}
	return string(out)
}

func appendU16Bytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func appendU8Bytes(b, v []byte) []byte {
	return append(append(b, byte(len(v))), v...)
}

// parser reads fields in order; after the first error every read returns
// zero values and done reports the error.
type parser struct {
	b   []byte
	err error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (p *parser) typ(want byte) error {
	if len(p.b) == 0 {
		return fmt.Errorf("%w: empty message", ErrMalformed)
	}
	if p.b[0] == TypeAlert && want != TypeAlert {
		a, err := ParseAlert(p.b)
		if err != nil {
			return err
		}
		return a
	}
	if p.b[0] != want {
		return fmt.Errorf("%w: got message type 0x%02x, want 0x%02x", ErrMalformed, p.b[0], want)
	}
	p.b = p.b[1:]
	return nil
}

// hello checks the type byte and the magic of a hello message.
func (p *parser) hello(want byte) error {
	if IsPlainHello(p.b) {
		return ErrPlaintextPeer
	}
	if len(p.b) > 0 && p.b[0] == TypeAlert {
		return p.typ(want)
	}
	if len(p.b) < 1+len(Magic) || p.b[0] != want || string(p.b[1:1+len(Magic)]) != Magic {
		return ErrNotSecureChat
	}
	p.b = p.b[1+len(Magic):]
	return nil
}

func (p *parser) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if len(p.b) < n {
		p.fail("message ends %d bytes early", n-len(p.b))
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}

func (p *parser) fixed(dst []byte) { copy(dst, p.take(len(dst))) }

func (p *parser) bytes(n int) []byte { return append([]byte(nil), p.take(n)...) }

func (p *parser) u16() uint16 {
	v := p.take(2)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

func (p *parser) u16Bytes(max int) []byte {
	n := int(p.u16())
	if p.err == nil && n > max {
		p.fail("field of %d bytes exceeds %d", n, max)
	}
	return p.bytes(n)
}

func (p *parser) u8Bytes(max int) []byte {
	v := p.take(1)
	if v == nil {
		return nil
	}
	n := int(v[0])
	if n > max {
		p.fail("field of %d bytes exceeds %d", n, max)
	}
	return p.bytes(n)
}

func (p *parser) done(what string) error {
	if p.err != nil {
		return fmt.Errorf("%s: %w", what, p.err)
	}
	if len(p.b) != 0 {
		return fmt.Errorf("%w: %s has %d trailing bytes", ErrMalformed, what, len(p.b))
	}
	return nil
}
