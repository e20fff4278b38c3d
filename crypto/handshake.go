package crypto

import (
	gocrypto "crypto"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Labels that separate every use of a primitive in the protocol.
const (
	labelTranscript   = "SecureChat v1 transcript"
	labelOAEP         = "SecureChat v1 key transport"
	labelSigInitiator = "SecureChat v1 initiator signature\x00"
	labelSigResponder = "SecureChat v1 responder signature\x00"
	labelKeyI2R       = "SecureChat v1 initiator to responder"
	labelKeyR2I       = "SecureChat v1 responder to initiator"
	labelFinished     = "SecureChat v1 finished"
)

// ErrAuthFailed means the peer could not prove it holds the identity key it
// presented, or the two sides derived different keys: someone is tampering
// with the connection.
var ErrAuthFailed = errors.New("crypto: handshake authentication failed: the connection may be under attack")

// HandshakeState names where a [Handshake] is. Each method checks the state
// it expects; a failed call leaves the state as it was.
type HandshakeState int

// Handshake states. Initiator: Start, ClientHelloSent, ServerHelloReceived,
// ClientAuthSent, ServerAuthReceived, FinishedReceived, Done. Responder:
// Start, ClientHelloReceived, ServerHelloSent, ClientAuthReceived,
// ServerAuthSent, Done.
const (
	StateStart HandshakeState = iota
	StateClientHelloSent
	StateClientHelloReceived
	StateServerHelloSent
	StateServerHelloReceived
	StateClientAuthSent
	StateClientAuthReceived
	StateServerAuthSent
	StateServerAuthReceived
	StateFinishedReceived
	StateDone
)

var stateNames = [...]string{
	"handshakeStart", "handshakeClientHelloSent", "handshakeClientHelloReceived",
	"handshakeServerHelloSent", "handshakeServerHelloReceived", "handshakeClientAuthSent",
	"handshakeClientAuthReceived", "handshakeServerAuthSent", "handshakeServerAuthReceived",
	"handshakeFinishedReceived", "handshakeDone",
}

func (s HandshakeState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("handshakeState(%d)", int(s))
}

// Config is what a handshake needs. The handshake never modifies it.
type Config struct {
	Identity *Identity
	Name     string    // our display name, sent to the peer
	Random   io.Reader // nil means crypto/rand.Reader
}

// Handshake runs one side of the SecureChat handshake: hellos with X25519
// shares and an ML-KEM-768 exchange, RSA-OAEP key transport in both
// directions, RSA-PSS signatures over the transcript, HKDF key schedule, and
// key confirmation with one sealed Finished record each way.
type Handshake struct {
	initiator bool
	state     HandshakeState
	cfg       Config
	random    io.Reader

	transcript hash.Hash

	x25519  *ecdh.PrivateKey
	dk      *mlkem.DecapsulationKey768
	ourHash []byte // transcript hash after both hellos, for the signatures

	secretOurs, secretPeer []byte // RSA-OAEP transported secrets
	// peerSecret delivers the peer's secret, decrypted in the background
	// while we sign: the two RSA private-key operations of each side run
	// at once instead of one after the other.
	peerSecret   chan secretResult
	sharedX25519 []byte
	sharedMLKEM  []byte
	peerX25519   []byte
	peerMLKEMKey []byte // initiator's encapsulation key (responder side)

	peer     *PublicIdentity
	peerName string

	sealer *Sealer
	opener *Opener
	final  []byte // transcript hash after ServerAuth
}

// NewInitiator starts the handshake of the side that dials.
func NewInitiator(cfg Config) (*Handshake, error) { return newHandshake(cfg, true) }

// NewResponder starts the handshake of the side that listens.
func NewResponder(cfg Config) (*Handshake, error) { return newHandshake(cfg, false) }

func newHandshake(cfg Config, initiator bool) (*Handshake, error) {
	if cfg.Identity == nil {
		return nil, errors.New("crypto: handshake needs an identity")
	}
	if err := CheckName(cfg.Name); err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	r := cfg.Random
	if r == nil {
		r = rand.Reader
	}
	h := &Handshake{initiator: initiator, cfg: cfg, random: r, transcript: sha256.New()}
	h.transcript.Write([]byte(labelTranscript))
	return h, nil
}

// State returns where the handshake is.
func (h *Handshake) State() HandshakeState { return h.state }

func (h *Handshake) expect(want HandshakeState, call string) error {
	if h.state != want {
		return fmt.Errorf("crypto: unexpected call to %s in state %s, want %s", call, h.state, want)
	}
	return nil
}

func (h *Handshake) expectRole(initiator bool, call string) error {
	if h.initiator != initiator {
		role := "responder"
		if h.initiator {
			role = "initiator"
		}
		return fmt.Errorf("crypto: %s is not a %s call", call, role)
	}
	return nil
}

// addTranscript hashes one whole handshake message, length first.
func (h *Handshake) addTranscript(msg []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(msg)))
	h.transcript.Write(n[:])
	h.transcript.Write(msg)
}

func (h *Handshake) transcriptHash() []byte { return h.transcript.Sum(nil) }

func (h *Handshake) readRandom(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(h.random, b); err != nil {
		return nil, fmt.Errorf("crypto: failed to read randomness: %w", err)
	}
	return b, nil
}

func (h *Handshake) newEphemerals() error {
	seed, err := h.readRandom(X25519Size)
	if err != nil {
		return err
	}
	h.x25519, err = ecdh.X25519().NewPrivateKey(seed)
	clear(seed)
	if err != nil {
		return fmt.Errorf("crypto: failed to make X25519 key: %w", err)
	}
	if h.secretOurs, err = h.readRandom(SecretSize); err != nil {
		return err
	}
	return nil
}

// WriteClientHello returns the initiator's first message.
func (h *Handshake) WriteClientHello() ([]byte, error) {
	if err := h.expectRole(true, "WriteClientHello"); err != nil {
		return nil, err
	}
	if err := h.expect(StateStart, "WriteClientHello"); err != nil {
		return nil, err
	}
	if err := h.newEphemerals(); err != nil {
		return nil, err
	}
	seed, err := h.readRandom(mlkem.SeedSize)
	if err != nil {
		return nil, err
	}
	h.dk, err = mlkem.NewDecapsulationKey768(seed)
	clear(seed)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to make ML-KEM key: %w", err)
	}
	m := &clientHello{
		Version:  ProtocolVersion,
		MLKEMKey: h.dk.EncapsulationKey().Bytes(),
		Identity: h.cfg.Identity.Public().Bytes(),
		Name:     h.cfg.Name,
	}
	rnd, err := h.readRandom(RandomSize)
	if err != nil {
		return nil, err
	}
	copy(m.Random[:], rnd)
	copy(m.X25519[:], h.x25519.PublicKey().Bytes())
	msg := m.marshal()
	h.addTranscript(msg)
	h.state = StateClientHelloSent
	return msg, nil
}

// ReadClientHello takes the initiator's first message.
func (h *Handshake) ReadClientHello(msg []byte) error {
	if err := h.expectRole(false, "ReadClientHello"); err != nil {
		return err
	}
	if err := h.expect(StateStart, "ReadClientHello"); err != nil {
		return err
	}
	m, err := parseClientHello(msg)
	if err != nil {
		return err
	}
	peer, err := ParsePublicIdentity(m.Identity)
	if err != nil {
		return fmt.Errorf("%w: ClientHello identity: %v", ErrMalformed, err)
	}
	if _, err := mlkem.NewEncapsulationKey768(m.MLKEMKey); err != nil {
		return fmt.Errorf("%w: ClientHello ML-KEM key: %v", ErrMalformed, err)
	}
	if _, err := ecdh.X25519().NewPublicKey(m.X25519[:]); err != nil {
		return fmt.Errorf("%w: ClientHello X25519 share: %v", ErrMalformed, err)
	}
	h.peer, h.peerName = peer, m.Name
	h.peerX25519 = append([]byte(nil), m.X25519[:]...)
	h.peerMLKEMKey = m.MLKEMKey
	h.addTranscript(msg)
	h.state = StateClientHelloReceived
	return nil
}

// WriteServerHello returns the responder's answer.
func (h *Handshake) WriteServerHello() ([]byte, error) {
	if err := h.expect(StateClientHelloReceived, "WriteServerHello"); err != nil {
		return nil, err
	}
	if err := h.newEphemerals(); err != nil {
		return nil, err
	}
	ek, err := mlkem.NewEncapsulationKey768(h.peerMLKEMKey)
	if err != nil {
		return nil, fmt.Errorf("crypto: ML-KEM key: %w", err)
	}
	shared, ct := ek.Encapsulate()
	peerX, err := ecdh.X25519().NewPublicKey(h.peerX25519)
	if err != nil {
		return nil, fmt.Errorf("crypto: X25519 share: %w", err)
	}
	sx, err := h.x25519.ECDH(peerX)
	if err != nil {
		return nil, fmt.Errorf("%w: X25519 exchange: %v", ErrMalformed, err)
	}
	secretCT, err := h.sendSecret()
	if err != nil {
		return nil, err
	}
	m := &serverHello{
		Version:  ProtocolVersion,
		MLKEMCT:  ct,
		SecretCT: secretCT,
		Identity: h.cfg.Identity.Public().Bytes(),
		Name:     h.cfg.Name,
	}
	rnd, err := h.readRandom(RandomSize)
	if err != nil {
		return nil, err
	}
	copy(m.Random[:], rnd)
	copy(m.X25519[:], h.x25519.PublicKey().Bytes())
	msg := m.marshal()
	h.sharedMLKEM, h.sharedX25519 = shared, sx
	h.addTranscript(msg)
	h.ourHash = h.transcriptHash()
	h.state = StateServerHelloSent
	return msg, nil
}

// ReadServerHello takes the responder's answer.
func (h *Handshake) ReadServerHello(msg []byte) error {
	if err := h.expect(StateClientHelloSent, "ReadServerHello"); err != nil {
		return err
	}
	m, err := parseServerHello(msg)
	if err != nil {
		return err
	}
	peer, err := ParsePublicIdentity(m.Identity)
	if err != nil {
		return fmt.Errorf("%w: ServerHello identity: %v", ErrMalformed, err)
	}
	peerX, err := ecdh.X25519().NewPublicKey(m.X25519[:])
	if err != nil {
		return fmt.Errorf("%w: ServerHello X25519 share: %v", ErrMalformed, err)
	}
	sx, err := h.x25519.ECDH(peerX)
	if err != nil {
		return fmt.Errorf("%w: X25519 exchange: %v", ErrMalformed, err)
	}
	sm, err := h.dk.Decapsulate(m.MLKEMCT)
	if err != nil {
		return fmt.Errorf("%w: ML-KEM ciphertext: %v", ErrMalformed, err)
	}
	h.peer, h.peerName = peer, m.Name
	h.sharedX25519, h.sharedMLKEM = sx, sm
	h.decryptPeerSecret(m.SecretCT)
	h.addTranscript(msg)
	h.ourHash = h.transcriptHash()
	h.dk = nil
	h.state = StateServerHelloReceived
	return nil
}

func signedDigest(label string, th, extra []byte) []byte {
	d := sha256.New()
	d.Write([]byte(label))
	d.Write(th)
	d.Write(extra)
	return d.Sum(nil)
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: gocrypto.SHA256}

// sign signs label || th || extra with our identity key (RSA-PSS-SHA256).
func (h *Handshake) sign(label string, th, extra []byte) ([]byte, error) {
	sig, err := rsa.SignPSS(h.random, h.cfg.Identity.priv, gocrypto.SHA256, signedDigest(label, th, extra), pssOptions)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to sign the transcript: %w", err)
	}
	return sig, nil
}

// verify checks the peer's signature over label || th || extra.
func (h *Handshake) verify(label string, th, extra, sig []byte) error {
	if err := rsa.VerifyPSS(h.peer.key, gocrypto.SHA256, signedDigest(label, th, extra), sig, pssOptions); err != nil {
		return fmt.Errorf("%w: the partner's signature does not match its key", ErrAuthFailed)
	}
	return nil
}

// sendSecret encrypts our transported secret to the peer's identity key
// (RSA-OAEP-SHA256 with the protocol's label).
func (h *Handshake) sendSecret() ([]byte, error) {
	ct, err := rsa.EncryptOAEP(sha256.New(), h.random, h.peer.key, h.secretOurs, []byte(labelOAEP))
	if err != nil {
		return nil, fmt.Errorf("crypto: RSA-OAEP key transport: %w", err)
	}
	return ct, nil
}

type secretResult struct {
	secret []byte
	err    error
}

// decryptPeerSecret starts decrypting the peer's transported secret. The
// goroutine ends by itself in a few milliseconds whatever happens next.
func (h *Handshake) decryptPeerSecret(ct []byte) {
	ch := make(chan secretResult, 1)
	h.peerSecret = ch
	priv := h.cfg.Identity.priv
	go func() {
		secret, err := receiveSecret(priv, ct)
		ch <- secretResult{secret, err}
	}()
}

// awaitPeerSecret waits for the decryption started by decryptPeerSecret.
func (h *Handshake) awaitPeerSecret() error {
	if h.secretPeer != nil {
		return nil
	}
	r := <-h.peerSecret
	h.peerSecret <- r // a failed call may be repeated and must see the same
	if r.err != nil {
		return r.err
	}
	h.secretPeer = r.secret
	return nil
}

// receiveSecret decrypts the peer's transported secret. The error says
// nothing more than that it failed, so that it is no decryption oracle.
func receiveSecret(priv *rsa.PrivateKey, ct []byte) ([]byte, error) {
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, []byte(labelOAEP))
	if err != nil || len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: the key transported to us does not decrypt", ErrAuthFailed)
	}
	return secret, nil
}

// WriteClientAuth returns the initiator's transported secret and its
// signature over both hellos and that secret's ciphertext.
func (h *Handshake) WriteClientAuth() ([]byte, error) {
	if err := h.expect(StateServerHelloReceived, "WriteClientAuth"); err != nil {
		return nil, err
	}
	ct, err := h.sendSecret()
	if err != nil {
		return nil, err
	}
	sig, err := h.sign(labelSigInitiator, h.ourHash, ct)
	if err != nil {
		return nil, err
	}
	msg := (&clientAuth{SecretCT: ct, Signature: sig}).marshal()
	h.addTranscript(msg)
	h.state = StateClientAuthSent
	return msg, nil
}

// ReadClientAuth takes the initiator's secret and checks its signature.
func (h *Handshake) ReadClientAuth(msg []byte) error {
	if err := h.expect(StateServerHelloSent, "ReadClientAuth"); err != nil {
		return err
	}
	m, err := parseClientAuth(msg)
	if err != nil {
		return err
	}
	if err := h.verify(labelSigInitiator, h.ourHash, m.SecretCT, m.Signature); err != nil {
		return err
	}
	h.decryptPeerSecret(m.SecretCT)
	h.addTranscript(msg)
	h.state = StateClientAuthReceived
	return nil
}

// WriteServerAuth returns the responder's signature over the whole
// transcript and, after it, the responder's sealed Finished record. From
// here on the keys exist.
func (h *Handshake) WriteServerAuth() (auth, finished []byte, err error) {
	if err := h.expect(StateClientAuthReceived, "WriteServerAuth"); err != nil {
		return nil, nil, err
	}
	sig, err := h.sign(labelSigResponder, h.transcriptHash(), nil)
	if err != nil {
		return nil, nil, err
	}
	if err := h.awaitPeerSecret(); err != nil {
		return nil, nil, err
	}
	msg := (&serverAuth{Signature: sig}).marshal()
	h.addTranscript(msg)
	if err := h.deriveKeys(); err != nil {
		return nil, nil, err
	}
	fin, err := h.sealer.Seal(h.finishedPayload(false))
	if err != nil {
		return nil, nil, err
	}
	h.state = StateServerAuthSent
	return msg, fin, nil
}

// ReadServerAuth checks the responder's signature and derives the keys.
func (h *Handshake) ReadServerAuth(msg []byte) error {
	if err := h.expect(StateClientAuthSent, "ReadServerAuth"); err != nil {
		return err
	}
	m, err := parseServerAuth(msg)
	if err != nil {
		return err
	}
	if err := h.verify(labelSigResponder, h.transcriptHash(), nil, m.Signature); err != nil {
		return err
	}
	if err := h.awaitPeerSecret(); err != nil {
		return err
	}
	h.addTranscript(msg)
	if err := h.deriveKeys(); err != nil {
		return err
	}
	h.state = StateServerAuthReceived
	return nil
}

// finishedPayload is the plaintext of a Finished record: a type byte, then
// the final transcript hash, then the sender's role.
func (h *Handshake) finishedPayload(fromInitiator bool) []byte {
	p := append([]byte{MsgFinished}, labelFinished...)
	p = append(p, h.final...)
	if fromInitiator {
		return append(p, 'I')
	}
	return append(p, 'R')
}

// ReadFinished opens the peer's Finished record, confirming that both sides
// hold the same keys. The initiator reads before writing its own; the
// responder reads last.
func (h *Handshake) ReadFinished(record []byte) error {
	want := StateServerAuthReceived
	if !h.initiator {
		want = StateServerAuthSent
	}
	if err := h.expect(want, "ReadFinished"); err != nil {
		return err
	}
	pt, err := h.opener.Open(record)
	if err != nil {
		var a *Alert
		if errors.As(err, &a) {
			return a
		}
		return fmt.Errorf("%w: key confirmation failed", ErrAuthFailed)
	}
	if string(pt) != string(h.finishedPayload(!h.initiator)) {
		return fmt.Errorf("%w: key confirmation does not match", ErrAuthFailed)
	}
	if h.initiator {
		h.state = StateFinishedReceived
	} else {
		h.state = StateDone
		h.wipe()
	}
	return nil
}

// WriteFinished returns the initiator's sealed Finished record.
func (h *Handshake) WriteFinished() ([]byte, error) {
	if err := h.expectRole(true, "WriteFinished"); err != nil {
		return nil, err
	}
	if err := h.expect(StateFinishedReceived, "WriteFinished"); err != nil {
		return nil, err
	}
	fin, err := h.sealer.Seal(h.finishedPayload(true))
	if err != nil {
		return nil, err
	}
	h.state = StateDone
	h.wipe()
	return fin, nil
}

// deriveKeys runs the key schedule once every secret and the final
// transcript are known:
//
//	ikm = X25519 secret || ML-KEM secret || initiator's secret || responder's secret
//	prk = HKDF-Extract(SHA-256, ikm, salt = transcript hash)
//	key = HKDF-Expand(prk, direction label, 32)
func (h *Handshake) deriveKeys() error {
	h.final = h.transcriptHash()
	ikm := make([]byte, 0, 4*32)
	ikm = append(ikm, h.sharedX25519...)
	ikm = append(ikm, h.sharedMLKEM...)
	if h.initiator {
		ikm = append(append(ikm, h.secretOurs...), h.secretPeer...)
	} else {
		ikm = append(append(ikm, h.secretPeer...), h.secretOurs...)
	}
	defer clear(ikm)
	i2r, r2i, err := KeySchedule(ikm, h.final)
	if err != nil {
		return err
	}
	defer clear(i2r)
	defer clear(r2i)
	send, recv := i2r, r2i
	if !h.initiator {
		send, recv = r2i, i2r
	}
	if h.sealer, err = NewSealer(send); err != nil {
		return err
	}
	if h.opener, err = NewOpener(recv); err != nil {
		return err
	}
	return nil
}

// KeySchedule derives the two direction keys from the concatenated shared
// secrets and the final transcript hash.
func KeySchedule(ikm, transcriptHash []byte) (i2r, r2i []byte, err error) {
	prk, err := hkdf.Extract(sha256.New, ikm, transcriptHash)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	defer clear(prk)
	if i2r, err = hkdf.Expand(sha256.New, prk, labelKeyI2R, 32); err != nil {
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	if r2i, err = hkdf.Expand(sha256.New, prk, labelKeyR2I, 32); err != nil {
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	return i2r, r2i, nil
}

// wipe forgets every secret the handshake no longer needs.
func (h *Handshake) wipe() {
	clear(h.secretOurs)
	clear(h.secretPeer)
	clear(h.sharedX25519)
	clear(h.sharedMLKEM)
	h.secretOurs, h.secretPeer, h.sharedX25519, h.sharedMLKEM = nil, nil, nil, nil
	h.x25519, h.dk, h.peerSecret = nil, nil, nil
}

// Peer returns the partner's identity key and display name, known once
// its hello has been read (and authenticated once the handshake is done).
func (h *Handshake) Peer() (*PublicIdentity, string) { return h.peer, h.peerName }

// TranscriptHash returns the final transcript hash once the keys exist.
func (h *Handshake) TranscriptHash() []byte { return append([]byte(nil), h.final...) }

// Channel returns the record sealer and opener after the handshake is done.
// The opener has consumed the peer's Finished record and the sealer ours.
func (h *Handshake) Channel() (*Sealer, *Opener, error) {
	if h.state != StateDone {
		return nil, nil, fmt.Errorf("crypto: unexpected call to Channel in state %s", h.state)
	}
	return h.sealer, h.opener, nil
}

// MsgFinished is the inner type byte of a Finished record's plaintext. The
// message types of the chat protocol (session package) use other values.
const MsgFinished byte = 0x10
