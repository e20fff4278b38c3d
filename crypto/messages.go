package crypto

import (
	"crypto/mlkem"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/securechat/securechat/names"
)

// Message types: the first byte of every cleartext frame, and of every
// handshake record's plaintext. docs/PROTOCOL.md gives every field.
const (
	// Cleartext frames.
	TypeClientHello byte = 0x01
	TypeServerHello byte = 0x02
	// Inner handshake messages, each sealed in one record under the
	// handshake keys.
	TypeClientIdentity byte = 0x05
	TypeClientVerify   byte = 0x06
	TypeServerIdentity byte = 0x07
	TypeServerVerify   byte = 0x08
	TypeClientKey      byte = 0x09
	// TypeAlert ends a handshake: in the clear before the handshake keys
	// exist, sealed in a handshake record after.
	TypeAlert  byte = 0x15
	TypeRecord byte = 0x17
	// TypePlainHello opens a connection of the unencrypted demonstration
	// mode (--plaintext). A secure peer refuses it.
	TypePlainHello byte = 0x50
)

// Magic follows the type byte of both hellos, so that a stray client (a web
// browser, a TLS client) is recognised at once. It names the protocol family
// and stays the same across versions, so that every version parses the
// version field that follows it.
const Magic = "SecChat1"

// ProtocolVersion is the only version this implementation speaks.
const ProtocolVersion uint16 = 4

// Field sizes.
const (
	RandomSize     = 32
	X25519Size     = 32
	SecretSize     = 32   // the RSA-OAEP transported secret
	RSACipherSize  = 384  // RSA-3072 OAEP ciphertext and PSS signature
	ProofSize      = 32   // HMAC-SHA256 invite proof
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

// ErrVersion is wrapped when the peer speaks another protocol version, or
// refused ours with an unsupported-version alert.
var ErrVersion = errors.New("crypto: unsupported protocol version")

// VersionError is returned by ReadClientHello and ReadServerHello for a
// hello of another protocol version. It wraps [ErrVersion]; [VersionError.Alert]
// is the alert to answer with.
type VersionError struct {
	PeerVersion uint16 // the version the peer's hello carries
}

func (e *VersionError) Error() string {
	if e.PeerVersion < ProtocolVersion {
		return fmt.Sprintf("%v: the partner runs an older SecureChat (protocol version %d); both need version %d", ErrVersion, e.PeerVersion, ProtocolVersion)
	}
	return fmt.Sprintf("%v: the partner runs a newer SecureChat (protocol version %d); this one speaks version %d", ErrVersion, e.PeerVersion, ProtocolVersion)
}

// Unwrap makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Unwrap() error { return ErrVersion }

// Alert returns the cleartext alert (code 3) that answers the hello.
func (e *VersionError) Alert() Alert {
	if e.PeerVersion < ProtocolVersion {
		return Alert{Code: AlertVersion, Reason: fmt.Sprintf("your partner runs a newer SecureChat (protocol version %d, you run version %d); update SecureChat to chat with them", ProtocolVersion, e.PeerVersion)}
	}
	return Alert{Code: AlertVersion, Reason: fmt.Sprintf("unsupported protocol version %d; this SecureChat speaks version %d", e.PeerVersion, ProtocolVersion)}
}

// clientHello is the initiator's first message: ephemeral values only.
type clientHello struct {
	Version  uint16
	Random   [RandomSize]byte
	X25519   [X25519Size]byte
	MLKEMKey []byte // ML-KEM-768 encapsulation key
}

// serverHello is the responder's answer: ephemeral values only.
type serverHello struct {
	Version uint16
	Random  [RandomSize]byte
	X25519  [X25519Size]byte
	MLKEMCT []byte // ML-KEM-768 ciphertext to the initiator's key
}

// clientIdentity is the initiator's identity, sealed under hs_i2r.
type clientIdentity struct {
	Identity []byte // PKIX DER
	Name     string
}

// clientVerify is the initiator's signature and optional invite proof.
type clientVerify struct {
	Signature []byte
	Proof     []byte // empty or ProofSize bytes
}

// serverIdentity is the responder's identity and its transported secret.
type serverIdentity struct {
	Identity []byte
	Name     string
	SecretCT []byte // RSA-OAEP(initiator key, secret_R)
}

// serverVerify is the responder's signature.
type serverVerify struct {
	Signature []byte
}

// clientKey is the initiator's transported secret.
type clientKey struct {
	SecretCT []byte // RSA-OAEP(responder key, secret_I)
}

// Alert is a message that ends a handshake, for example "busy". Received
// before the handshake keys exist it is unauthenticated; received inside a
// handshake record it comes from the partner of the key exchange.
type Alert struct {
	Code   AlertCode
	Reason string
}

// AlertCode says why a peer ended the handshake.
type AlertCode byte

// Alert codes. docs/PROTOCOL.md section 3.9 says which refusal uses which.
const (
	AlertBusy          AlertCode = 1  // the host is already in a chat
	AlertProtocol      AlertCode = 2  // a malformed or unexpected message
	AlertVersion       AlertCode = 3  // no common protocol version
	AlertPlaintext     AlertCode = 4  // a secure peer refuses a plaintext one
	AlertAuthFailed    AlertCode = 5  // a signature, key transport or Finished failed
	AlertInternal      AlertCode = 6  // the sender failed for its own reasons
	AlertSecureRefused AlertCode = 7  // a plaintext peer refuses a secure one
	AlertNotAdmitted   AlertCode = 8  // the host admits only its contacts and invitees
	AlertInvite        AlertCode = 9  // the invite is unknown, expired or used up
	AlertWrongKey      AlertCode = 10 // the initiator expected another identity key
)

// Error makes an alert received from the peer usable as an error.
func (a *Alert) Error() string {
	return "peer ended the handshake: " + a.Reason
}

func (m *clientHello) marshal() []byte {
	b := make([]byte, 0, 1+len(Magic)+2+RandomSize+X25519Size+len(m.MLKEMKey))
	b = append(b, TypeClientHello)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, m.Version)
	b = append(b, m.Random[:]...)
	b = append(b, m.X25519[:]...)
	return append(b, m.MLKEMKey...)
}

func parseClientHello(msg []byte) (*clientHello, error) {
	p := parser{b: msg}
	if err := p.hello(TypeClientHello); err != nil {
		return nil, err
	}
	m := &clientHello{Version: p.u16()}
	if p.err == nil && m.Version != ProtocolVersion {
		return nil, &VersionError{PeerVersion: m.Version}
	}
	p.fixed(m.Random[:])
	p.fixed(m.X25519[:])
	m.MLKEMKey = p.bytes(mlkem.EncapsulationKeySize768)
	if err := p.done("ClientHello"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *serverHello) marshal() []byte {
	b := make([]byte, 0, 1+len(Magic)+2+RandomSize+X25519Size+len(m.MLKEMCT))
	b = append(b, TypeServerHello)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, m.Version)
	b = append(b, m.Random[:]...)
	b = append(b, m.X25519[:]...)
	return append(b, m.MLKEMCT...)
}

func parseServerHello(msg []byte) (*serverHello, error) {
	p := parser{b: msg}
	if err := p.hello(TypeServerHello); err != nil {
		return nil, err
	}
	m := &serverHello{Version: p.u16()}
	if p.err == nil && m.Version != ProtocolVersion {
		return nil, &VersionError{PeerVersion: m.Version}
	}
	p.fixed(m.Random[:])
	p.fixed(m.X25519[:])
	m.MLKEMCT = p.bytes(mlkem.CiphertextSize768)
	if err := p.done("ServerHello"); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *clientIdentity) marshal() []byte {
	b := make([]byte, 0, 1+2+len(m.Identity)+1+len(m.Name))
	b = append(b, TypeClientIdentity)
	b = appendU16Bytes(b, m.Identity)
	return appendU8Bytes(b, []byte(m.Name))
}

func parseClientIdentity(msg []byte) (*clientIdentity, error) {
	p := parser{b: msg}
	if err := p.typ(TypeClientIdentity); err != nil {
		return nil, err
	}
	m := &clientIdentity{Identity: p.u16Bytes(MaxIdentityLen)}
	m.Name = string(p.u8Bytes(MaxNameLen))
	if err := p.done("ClientIdentity"); err != nil {
		return nil, err
	}
	if err := checkName(m.Name); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *clientVerify) marshal() []byte {
	b := append(make([]byte, 0, 1+2+len(m.Signature)+1+len(m.Proof)), TypeClientVerify)
	b = appendU16Bytes(b, m.Signature)
	return appendU8Bytes(b, m.Proof)
}

func parseClientVerify(msg []byte) (*clientVerify, error) {
	p := parser{b: msg}
	if err := p.typ(TypeClientVerify); err != nil {
		return nil, err
	}
	m := &clientVerify{Signature: p.u16Bytes(RSACipherSize), Proof: p.u8Bytes(ProofSize)}
	if err := p.done("ClientVerify"); err != nil {
		return nil, err
	}
	if len(m.Signature) != RSACipherSize {
		return nil, fmt.Errorf("%w: ClientVerify signature is %d bytes, want %d", ErrMalformed, len(m.Signature), RSACipherSize)
	}
	if len(m.Proof) != 0 && len(m.Proof) != ProofSize {
		return nil, fmt.Errorf("%w: ClientVerify invite proof is %d bytes, want 0 or %d", ErrMalformed, len(m.Proof), ProofSize)
	}
	return m, nil
}

func (m *serverIdentity) marshal() []byte {
	b := make([]byte, 0, 1+2+len(m.Identity)+1+len(m.Name)+2+len(m.SecretCT))
	b = append(b, TypeServerIdentity)
	b = appendU16Bytes(b, m.Identity)
	b = appendU8Bytes(b, []byte(m.Name))
	return appendU16Bytes(b, m.SecretCT)
}

func parseServerIdentity(msg []byte) (*serverIdentity, error) {
	p := parser{b: msg}
	if err := p.typ(TypeServerIdentity); err != nil {
		return nil, err
	}
	m := &serverIdentity{Identity: p.u16Bytes(MaxIdentityLen)}
	m.Name = string(p.u8Bytes(MaxNameLen))
	m.SecretCT = p.u16Bytes(RSACipherSize)
	if err := p.done("ServerIdentity"); err != nil {
		return nil, err
	}
	if len(m.SecretCT) != RSACipherSize {
		return nil, fmt.Errorf("%w: ServerIdentity key transport is %d bytes, want %d", ErrMalformed, len(m.SecretCT), RSACipherSize)
	}
	if err := checkName(m.Name); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *serverVerify) marshal() []byte {
	return appendU16Bytes([]byte{TypeServerVerify}, m.Signature)
}

func parseServerVerify(msg []byte) (*serverVerify, error) {
	p := parser{b: msg}
	if err := p.typ(TypeServerVerify); err != nil {
		return nil, err
	}
	m := &serverVerify{Signature: p.u16Bytes(RSACipherSize)}
	if err := p.done("ServerVerify"); err != nil {
		return nil, err
	}
	if len(m.Signature) != RSACipherSize {
		return nil, fmt.Errorf("%w: ServerVerify signature is %d bytes, want %d", ErrMalformed, len(m.Signature), RSACipherSize)
	}
	return m, nil
}

func (m *clientKey) marshal() []byte {
	return appendU16Bytes([]byte{TypeClientKey}, m.SecretCT)
}

func parseClientKey(msg []byte) (*clientKey, error) {
	p := parser{b: msg}
	if err := p.typ(TypeClientKey); err != nil {
		return nil, err
	}
	m := &clientKey{SecretCT: p.u16Bytes(RSACipherSize)}
	if err := p.done("ClientKey"); err != nil {
		return nil, err
	}
	if len(m.SecretCT) != RSACipherSize {
		return nil, fmt.Errorf("%w: ClientKey key transport is %d bytes, want %d", ErrMalformed, len(m.SecretCT), RSACipherSize)
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

// IsPlainHello reports whether msg is the hello of the unencrypted
// demonstration, which a secure peer refuses (Alert 4). The demonstration
// itself lives in the terminal front end, not here.
func IsPlainHello(msg []byte) bool {
	return len(msg) >= 1+len(Magic) && msg[0] == TypePlainHello && string(msg[1:1+len(Magic)]) == Magic
}

// checkName applies the display-name rules of the names package to a
// name received from the peer: 1 to MaxNameLen bytes of UTF-8, not only
// white space, no control, format (invisible, bidi), separator or
// unassigned characters, nothing the PRECIS Nickname profile refuses.
func checkName(name string) error {
	if err := names.Check(name); err != nil {
		return fmt.Errorf("%w: display name: %v", ErrMalformed, err)
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
