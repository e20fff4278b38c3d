package crypto

import (
	gocrypto "crypto"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Labels that separate every use of a primitive in the protocol.
const (
	labelTranscript   = "SecureChat v2 transcript"
	labelHSI2R        = "SecureChat v2 handshake initiator to responder"
	labelHSR2I        = "SecureChat v2 handshake responder to initiator"
	labelOAEP         = "SecureChat v2 key transport"
	labelSigInitiator = "SecureChat v2 initiator signature\x00"
	labelSigResponder = "SecureChat v2 responder signature\x00"
	labelInviteProof  = "SecureChat v2 invite proof\x00"
	labelKeyI2R       = "SecureChat v2 initiator to responder"
	labelKeyR2I       = "SecureChat v2 responder to initiator"
	labelFinished     = "SecureChat v2 finished"
)

// ErrAuthFailed means the peer could not prove it holds the identity key it
// presented, or the two sides derived different keys: someone is tampering
// with the connection.
var ErrAuthFailed = errors.New("crypto: handshake authentication failed: the connection may be under attack")

// HandshakeState names where a [Handshake] is. Each method checks the state
// it expects; a failed call leaves the state as it was.
type HandshakeState int

// Handshake states.
//
// Initiator: Start, ClientHelloSent, ServerHelloReceived (handshake keys),
// ClientIdentitySent, ServerIdentityReceived, ServerVerifyReceived,
// [ClientKeyOnlySent,] ClientKeySent (final keys, Finished sent), Done.
//
// Responder: Start, ClientHelloReceived, ServerHelloSent (handshake keys),
// ClientIdentityReceived, ClientVerifyReceived, [ServerIdentityOnlySent,]
// ServerIdentitySent, ClientKeyReceived (final keys), FinishedReceived, Done.
//
// The bracketed states are those of a side that sends its two records one
// at a time, so that the partner can start on the first while the second
// is computed (see [Handshake.WriteServerIdentityRecord]).
//
// Either side: Closed, after [Handshake.WriteAlert] or [Handshake.Close]
// before Done.
const (
	StateStart HandshakeState = iota
	StateClientHelloSent
	StateClientHelloReceived
	StateServerHelloSent
	StateServerHelloReceived
	StateClientIdentitySent
	StateClientIdentityReceived
	StateClientVerifyReceived
	StateServerIdentitySent
	StateServerIdentityReceived
	StateServerVerifyReceived
	StateClientKeySent
	StateClientKeyReceived
	StateFinishedReceived
	StateDone
	StateClosed
	StateServerIdentityOnlySent // ServerIdentity sent, ServerVerify not yet
	StateClientKeyOnlySent      // ClientKey sent, Finished not yet
)

var stateNames = [...]string{
	"handshakeStart", "handshakeClientHelloSent", "handshakeClientHelloReceived",
	"handshakeServerHelloSent", "handshakeServerHelloReceived", "handshakeClientIdentitySent",
	"handshakeClientIdentityReceived", "handshakeClientVerifyReceived", "handshakeServerIdentitySent",
	"handshakeServerIdentityReceived", "handshakeServerVerifyReceived", "handshakeClientKeySent",
	"handshakeClientKeyReceived", "handshakeFinishedReceived", "handshakeDone", "handshakeClosed",
	"handshakeServerIdentityOnlySent", "handshakeClientKeyOnlySent",
}

func (s HandshakeState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("handshakeState(%d)", int(s))
}

// Config is what a handshake needs. The handshake never modifies it.
type Config struct {
	Identity *Identity
	Name     string    // our display name, sent to the peer encrypted
	Random   io.Reader // nil means crypto/rand.Reader
	// InviteSecret, on the initiator only, is the secret of an invite the
	// user holds for this host. When set, ClientVerify carries an HMAC
	// proof of it; the secret itself never crosses the wire.
	InviteSecret []byte
}

// Handshake runs one side of the SecureChat v2 handshake: hellos with X25519
// shares and an ML-KEM-768 exchange in the clear; handshake keys from those;
// then, sealed under the handshake keys, identities, RSA-PSS signatures over
// the transcript and RSA-OAEP key transport in both directions; HKDF key
// schedule over every secret; key confirmation with one sealed Finished
// record each way.
//
// A Handshake is not safe for concurrent use. Call [Handshake.Close] when
// done with it, whatever happened: it wipes every secret.
type Handshake struct {
	initiator bool
	state     HandshakeState
	cfg       Config
	random    io.Reader

	transcript hash.Hash
	th3        []byte // TH(m1..m3): signed by the initiator, the invite proof's input

	x25519 *ecdh.PrivateKey
	dk     *mlkem.DecapsulationKey768

	secretOurs, secretPeer []byte // RSA-OAEP transported secrets
	// peerSecret delivers the responder's secret to the initiator,
	// decrypted in the background while it verifies ServerVerify and
	// encrypts its own secret.
	peerSecret   chan secretResult
	sharedX25519 []byte
	sharedMLKEM  []byte
	peerX25519   []byte
	peerMLKEMKey []byte // initiator's encapsulation key (responder side)

	hsSealer *Sealer // handshake records we send
	hsOpener *Opener // handshake records we receive

	// pending is the identity the partner announced, until its signature
	// has been verified; peer is set only then.
	pending     *PublicIdentity
	pendingName string
	peer        *PublicIdentity
	peerName    string
	proof       []byte // the initiator's invite proof (responder side)

	sealer *Sealer
	opener *Opener
	final  []byte // TH(m1..m7)
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
	if !initiator && cfg.InviteSecret != nil {
		return nil, errors.New("crypto: an invite secret is for the initiator only")
	}
	r := cfg.Random
	if r == nil {
		r = rand.Reader
	}
	cfg.InviteSecret = append([]byte(nil), cfg.InviteSecret...)
	h := &Handshake{initiator: initiator, cfg: cfg, random: r, transcript: sha256.New()}
	h.transcript.Write([]byte(labelTranscript))
	return h, nil
}

// State returns where the handshake is.
func (h *Handshake) State() HandshakeState { return h.state }

// expect checks the role and the state of a call.
func (h *Handshake) expect(initiator bool, want HandshakeState, call string) error {
	if h.initiator != initiator {
		role := "responder"
		if h.initiator {
			role = "initiator"
		}
		return fmt.Errorf("crypto: %s is not a %s call", call, role)
	}
	if h.state != want {
		return fmt.Errorf("crypto: unexpected call to %s in state %s, want %s", call, h.state, want)
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

// transcriptWith returns the transcript hash as if msg had been added,
// without adding it: a read that fails later leaves the transcript as it was.
func (h *Handshake) transcriptWith(msg []byte) []byte {
	state, err := h.transcript.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("crypto: SHA-256 state cannot be saved: " + err.Error()) // the standard library's can
	}
	c := sha256.New()
	if err := c.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic("crypto: SHA-256 state cannot be restored: " + err.Error())
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(msg)))
	c.Write(n[:])
	c.Write(msg)
	return c.Sum(nil)
}

func (h *Handshake) transcriptHash() []byte { return h.transcript.Sum(nil) }

func (h *Handshake) readRandom(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(h.random, b); err != nil {
		return nil, fmt.Errorf("crypto: failed to read randomness: %w", err)
	}
	return b, nil
}

func (h *Handshake) newX25519() (*ecdh.PrivateKey, error) {
	seed, err := h.readRandom(X25519Size)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	k, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to make X25519 key: %w", err)
	}
	return k, nil
}

// WriteClientHello returns the initiator's first message (a cleartext frame).
func (h *Handshake) WriteClientHello() ([]byte, error) {
	if err := h.expect(true, StateStart, "WriteClientHello"); err != nil {
		return nil, err
	}
	x, err := h.newX25519()
	if err != nil {
		return nil, err
	}
	seed, err := h.readRandom(mlkem.SeedSize)
	if err != nil {
		return nil, err
	}
	dk, err := mlkem.NewDecapsulationKey768(seed)
	clear(seed)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to make ML-KEM key: %w", err)
	}
	rnd, err := h.readRandom(RandomSize)
	if err != nil {
		return nil, err
	}
	m := &clientHello{Version: ProtocolVersion, MLKEMKey: dk.EncapsulationKey().Bytes()}
	copy(m.Random[:], rnd)
	copy(m.X25519[:], x.PublicKey().Bytes())
	msg := m.marshal()
	h.x25519, h.dk = x, dk
	h.addTranscript(msg)
	h.state = StateClientHelloSent
	return msg, nil
}

// ReadClientHello takes the initiator's first message. A hello of another
// version fails with a [*VersionError].
func (h *Handshake) ReadClientHello(msg []byte) error {
	if err := h.expect(false, StateStart, "ReadClientHello"); err != nil {
		return err
	}
	m, err := parseClientHello(msg)
	if err != nil {
		return err
	}
	if _, err := mlkem.NewEncapsulationKey768(m.MLKEMKey); err != nil {
		return fmt.Errorf("%w: ClientHello ML-KEM key: %v", ErrMalformed, err)
	}
	if _, err := ecdh.X25519().NewPublicKey(m.X25519[:]); err != nil {
		return fmt.Errorf("%w: ClientHello X25519 share: %v", ErrMalformed, err)
	}
	h.peerX25519 = append([]byte(nil), m.X25519[:]...)
	h.peerMLKEMKey = m.MLKEMKey
	h.addTranscript(msg)
	h.state = StateClientHelloReceived
	return nil
}

// WriteServerHello returns the responder's answer (a cleartext frame) and
// derives the handshake keys.
func (h *Handshake) WriteServerHello() ([]byte, error) {
	if err := h.expect(false, StateClientHelloReceived, "WriteServerHello"); err != nil {
		return nil, err
	}
	x, err := h.newX25519()
	if err != nil {
		return nil, err
	}
	peerX, err := ecdh.X25519().NewPublicKey(h.peerX25519)
	if err != nil {
		return nil, fmt.Errorf("%w: ClientHello X25519 share: %v", ErrMalformed, err)
	}
	sx, err := x.ECDH(peerX) // fails for an all-zero result
	if err != nil {
		return nil, fmt.Errorf("%w: X25519 exchange: %v", ErrMalformed, err)
	}
	ek, err := mlkem.NewEncapsulationKey768(h.peerMLKEMKey)
	if err != nil {
		clear(sx)
		return nil, fmt.Errorf("%w: ClientHello ML-KEM key: %v", ErrMalformed, err)
	}
	rnd, err := h.readRandom(RandomSize)
	if err != nil {
		clear(sx)
		return nil, err
	}
	sm, ct := ek.Encapsulate()
	m := &serverHello{Version: ProtocolVersion, MLKEMCT: ct}
	copy(m.Random[:], rnd)
	copy(m.X25519[:], x.PublicKey().Bytes())
	msg := m.marshal()
	th2 := h.transcriptWith(msg)
	if err := h.handshakeKeys(sx, sm, th2); err != nil {
		clear(sx)
		clear(sm)
		return nil, err
	}
	h.x25519, h.sharedX25519, h.sharedMLKEM = x, sx, sm
	h.addTranscript(msg)
	h.state = StateServerHelloSent
	return msg, nil
}

// ReadServerHello takes the responder's answer and derives the handshake
// keys. A cleartext alert in its place is returned as a [*Alert] (and
// unauthenticated); one with code 3 also wraps [ErrVersion].
func (h *Handshake) ReadServerHello(msg []byte) error {
	if err := h.expect(true, StateClientHelloSent, "ReadServerHello"); err != nil {
		return err
	}
	m, err := parseServerHello(msg)
	if a := (*Alert)(nil); errors.As(err, &a) && a.Code == AlertVersion {
		return fmt.Errorf("%w: the partner runs another SecureChat version and refused protocol version %d (%w)", ErrVersion, ProtocolVersion, a)
	}
	if err != nil {
		return err
	}
	peerX, err := ecdh.X25519().NewPublicKey(m.X25519[:])
	if err != nil {
		return fmt.Errorf("%w: ServerHello X25519 share: %v", ErrMalformed, err)
	}
	sx, err := h.x25519.ECDH(peerX) // fails for an all-zero result
	if err != nil {
		return fmt.Errorf("%w: X25519 exchange: %v", ErrMalformed, err)
	}
	sm, err := h.dk.Decapsulate(m.MLKEMCT)
	if err != nil {
		clear(sx)
		return fmt.Errorf("%w: ML-KEM ciphertext: %v", ErrMalformed, err)
	}
	if err := h.handshakeKeys(sx, sm, h.transcriptWith(msg)); err != nil {
		clear(sx)
		clear(sm)
		return err
	}
	h.sharedX25519, h.sharedMLKEM = sx, sm
	h.addTranscript(msg)
	h.x25519, h.dk = nil, nil // no longer needed
	h.state = StateServerHelloReceived
	return nil
}

// HandshakeKeys derives the two handshake-record keys from the X25519 and
// ML-KEM shared secrets and TH(m1..m2):
//
//	hs_prk = HKDF-Extract(SHA-256, salt = th2, ikm = ss_x || ss_m)
//	hs_i2r = HKDF-Expand(hs_prk, "SecureChat v2 handshake initiator to responder", 32)
//	hs_r2i = HKDF-Expand(hs_prk, "SecureChat v2 handshake responder to initiator", 32)
func HandshakeKeys(ssX, ssM, th2 []byte) (i2r, r2i []byte, err error) {
	ikm := append(append(make([]byte, 0, len(ssX)+len(ssM)), ssX...), ssM...)
	defer clear(ikm)
	return expandPair(ikm, th2, labelHSI2R, labelHSR2I)
}

// handshakeKeys sets up the handshake sealer and opener.
func (h *Handshake) handshakeKeys(sx, sm, th2 []byte) error {
	i2r, r2i, err := HandshakeKeys(sx, sm, th2)
	if err != nil {
		return err
	}
	defer clear(i2r)
	defer clear(r2i)
	s, o, err := h.directions(i2r, r2i)
	if err != nil {
		return err
	}
	h.hsSealer, h.hsOpener = s, o
	return nil
}

// directions returns a sealer for our direction and an opener for the peer's.
func (h *Handshake) directions(i2r, r2i []byte) (*Sealer, *Opener, error) {
	send, recv := i2r, r2i
	if !h.initiator {
		send, recv = r2i, i2r
	}
	s, err := NewSealer(send)
	if err != nil {
		return nil, nil, err
	}
	o, err := NewOpener(recv)
	if err != nil {
		return nil, nil, err
	}
	return s, o, nil
}

func expandPair(ikm, salt []byte, labelI2R, labelR2I string) (i2r, r2i []byte, err error) {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	defer clear(prk)
	if i2r, err = hkdf.Expand(sha256.New, prk, labelI2R, 32); err != nil {
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	if r2i, err = hkdf.Expand(sha256.New, prk, labelR2I, 32); err != nil {
		clear(i2r)
		return nil, nil, fmt.Errorf("crypto: key schedule: %w", err)
	}
	return i2r, r2i, nil
}

// openHandshake opens the next handshake record without advancing the
// opener; the caller calls h.hsOpener.seq++ once the step succeeds. Anything
// that is not a valid record under the handshake key (a cleartext alert
// included) is an authentication failure.
func (h *Handshake) openHandshake(rec []byte, what string) ([]byte, error) {
	pt, err := h.hsOpener.peek(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAuthFailed, what, err)
	}
	return pt, nil
}

// sealHandshake seals the inner messages in one handshake record each.
func (h *Handshake) sealHandshake(msgs ...[]byte) ([][]byte, error) {
	out := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		rec, err := h.hsSealer.Seal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// pssOptions are the RSA-PSS parameters of both signatures: MGF1 with
// SHA-256, salt length 32.
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: gocrypto.SHA256}

// signatureHash is mHash for RSA-PSS: the PSS message is label || th, and
// the signature scheme hashes it once with SHA-256.
func signatureHash(label string, th []byte) []byte {
	d := sha256.New()
	d.Write([]byte(label))
	d.Write(th)
	return d.Sum(nil)
}

// sign signs label || th with our identity key.
func (h *Handshake) sign(label string, th []byte) ([]byte, error) {
	sig, err := rsa.SignPSS(h.random, h.cfg.Identity.priv, gocrypto.SHA256, signatureHash(label, th), pssOptions)
	if err != nil {
		return nil, fmt.Errorf("crypto: failed to sign the transcript: %w", err)
	}
	return sig, nil
}

// errPeerAuth is the one error for a bad signature and a transported secret
// that does not decrypt, so that neither is an oracle.
var errPeerAuth = fmt.Errorf("%w: the partner could not prove it holds its identity key", ErrAuthFailed)

func verify(peer *PublicIdentity, label string, th, sig []byte) error {
	if err := rsa.VerifyPSS(peer.key, gocrypto.SHA256, signatureHash(label, th), sig, pssOptions); err != nil {
		return errPeerAuth
	}
	return nil
}

// sendSecret encrypts secret to the peer's identity key (RSA-OAEP, SHA-256,
// MGF1-SHA-256, the protocol's label).
func (h *Handshake) sendSecret(to *PublicIdentity, secret []byte) ([]byte, error) {
	ct, err := rsa.EncryptOAEP(sha256.New(), h.random, to.key, secret, []byte(labelOAEP))
	if err != nil {
		return nil, fmt.Errorf("crypto: RSA-OAEP key transport: %w", err)
	}
	return ct, nil
}

// receiveSecret decrypts the peer's transported secret. The error is the
// same as for a bad signature, so that it is no decryption oracle.
func receiveSecret(priv *rsa.PrivateKey, ct []byte) ([]byte, error) {
	secret, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, []byte(labelOAEP))
	if err != nil || len(secret) != SecretSize {
		clear(secret)
		return nil, errPeerAuth
	}
	return secret, nil
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

// parsePeerIdentity checks an announced identity key.
func parsePeerIdentity(der []byte, what string) (*PublicIdentity, error) {
	peer, err := ParsePublicIdentity(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s identity: %v", ErrMalformed, what, err)
	}
	return peer, nil
}

// InviteProof computes the invite proof of ClientVerify:
// HMAC-SHA256(key = secret, "SecureChat v2 invite proof" || 0x00 || th3).
func InviteProof(secret, th3 []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(labelInviteProof))
	m.Write(th3)
	return m.Sum(nil)
}

// WriteClientIdentity returns the initiator's ClientIdentity and
// ClientVerify, each sealed in one handshake record. The identity is
// revealed first, encrypted, so that a host may refuse an initiator it does
// not admit before it reveals its own.
func (h *Handshake) WriteClientIdentity() ([][]byte, error) {
	if err := h.expect(true, StateServerHelloReceived, "WriteClientIdentity"); err != nil {
		return nil, err
	}
	m3 := (&clientIdentity{Identity: h.cfg.Identity.Public().Bytes(), Name: h.cfg.Name}).marshal()
	th3 := h.transcriptWith(m3)
	sig, err := h.sign(labelSigInitiator, th3)
	if err != nil {
		return nil, err
	}
	v := &clientVerify{Signature: sig}
	if len(h.cfg.InviteSecret) > 0 {
		v.Proof = InviteProof(h.cfg.InviteSecret, th3)
	}
	m4 := v.marshal()
	recs, err := h.sealHandshake(m3, m4)
	if err != nil {
		return nil, err
	}
	h.addTranscript(m3)
	h.addTranscript(m4)
	h.th3 = th3
	h.state = StateClientIdentitySent
	return recs, nil
}

// ReadClientIdentity opens the initiator's identity record. The identity is
// not authenticated until ReadClientVerify; [Handshake.Peer] stays nil.
func (h *Handshake) ReadClientIdentity(rec []byte) error {
	if err := h.expect(false, StateServerHelloSent, "ReadClientIdentity"); err != nil {
		return err
	}
	pt, err := h.openHandshake(rec, "ClientIdentity")
	if err != nil {
		return err
	}
	m, err := parseClientIdentity(pt)
	if err != nil {
		return err
	}
	peer, err := parsePeerIdentity(m.Identity, "ClientIdentity")
	if err != nil {
		return err
	}
	h.hsOpener.seq++
	h.pending, h.pendingName = peer, m.Name
	h.th3 = h.transcriptWith(pt)
	h.addTranscript(pt)
	h.state = StateClientIdentityReceived
	return nil
}

// ReadClientVerify checks the initiator's signature over TH(m1..m3). After
// it, [Handshake.Peer] is the authenticated initiator, and the caller decides
// whether to admit it: [Handshake.WriteServerIdentity] or
// [Handshake.WriteAlert].
func (h *Handshake) ReadClientVerify(rec []byte) error {
	if err := h.expect(false, StateClientIdentityReceived, "ReadClientVerify"); err != nil {
		return err
	}
	pt, err := h.openHandshake(rec, "ClientVerify")
	if err != nil {
		return err
	}
	m, err := parseClientVerify(pt)
	if err != nil {
		return err
	}
	if err := verify(h.pending, labelSigInitiator, h.th3, m.Signature); err != nil {
		return err
	}
	h.hsOpener.seq++
	h.peer, h.peerName = h.pending, h.pendingName
	h.proof = m.Proof
	h.addTranscript(pt)
	h.state = StateClientVerifyReceived
	return nil
}

// InviteProofPresent reports whether the initiator's ClientVerify carried
// an invite proof.
func (h *Handshake) InviteProofPresent() bool {
	return !h.initiator && h.peer != nil && len(h.proof) == ProofSize
}

// CheckInviteProof reports, in constant time, whether the initiator's
// invite proof was made with secret. It is false without a proof, and before
// ReadClientVerify has succeeded.
func (h *Handshake) CheckInviteProof(secret []byte) bool {
	if !h.InviteProofPresent() || len(secret) == 0 {
		return false
	}
	return hmac.Equal(InviteProof(secret, h.th3), h.proof)
}

// WriteServerIdentity admits the authenticated initiator: it returns the
// responder's ServerIdentity (with secret_R transported to the initiator's
// key) and ServerVerify (its signature over TH(m1..m5)), each sealed in one
// handshake record. It is [Handshake.WriteServerIdentityRecord] and
// [Handshake.WriteServerVerify] in one call.
func (h *Handshake) WriteServerIdentity() ([][]byte, error) {
	if err := h.expect(false, StateClientVerifyReceived, "WriteServerIdentity"); err != nil {
		return nil, err
	}
	m5, err := h.WriteServerIdentityRecord()
	if err != nil {
		return nil, err
	}
	m6, err := h.WriteServerVerify()
	if err != nil {
		return nil, err
	}
	return [][]byte{m5, m6}, nil
}

// WriteServerIdentityRecord admits the authenticated initiator and returns
// the responder's ServerIdentity alone, sealed in a handshake record. Sent
// at once, it lets the initiator decrypt secret_R while the responder signs
// ([Handshake.WriteServerVerify]): the bytes on the wire are the same as
// with [Handshake.WriteServerIdentity], only sooner.
func (h *Handshake) WriteServerIdentityRecord() ([]byte, error) {
	if err := h.expect(false, StateClientVerifyReceived, "WriteServerIdentityRecord"); err != nil {
		return nil, err
	}
	secret, err := h.readRandom(SecretSize)
	if err != nil {
		return nil, err
	}
	ct, err := h.sendSecret(h.peer, secret)
	if err != nil {
		clear(secret)
		return nil, err
	}
	m5 := (&serverIdentity{Identity: h.cfg.Identity.Public().Bytes(), Name: h.cfg.Name, SecretCT: ct}).marshal()
	recs, err := h.sealHandshake(m5)
	if err != nil {
		clear(secret)
		return nil, err
	}
	h.secretOurs = secret
	h.addTranscript(m5)
	h.state = StateServerIdentityOnlySent
	return recs[0], nil
}

// WriteServerVerify returns the responder's ServerVerify, its signature
// over TH(m1..m5), sealed in a handshake record, after
// [Handshake.WriteServerIdentityRecord].
func (h *Handshake) WriteServerVerify() ([]byte, error) {
	if err := h.expect(false, StateServerIdentityOnlySent, "WriteServerVerify"); err != nil {
		return nil, err
	}
	sig, err := h.sign(labelSigResponder, h.transcriptHash())
	if err != nil {
		return nil, err
	}
	m6 := (&serverVerify{Signature: sig}).marshal()
	recs, err := h.sealHandshake(m6)
	if err != nil {
		return nil, err
	}
	h.addTranscript(m6)
	h.state = StateServerIdentitySent
	return recs[0], nil
}

// ReadServerIdentity opens the responder's identity record and starts
// decrypting secret_R in the background. An inner alert in its place (the
// host refused us) is returned as a [*Alert]; the responder's identity then
// stays unknown.
func (h *Handshake) ReadServerIdentity(rec []byte) error {
	if err := h.expect(true, StateClientIdentitySent, "ReadServerIdentity"); err != nil {
		return err
	}
	pt, err := h.openHandshake(rec, "ServerIdentity")
	if err != nil {
		return err
	}
	m, err := parseServerIdentity(pt)
	if err != nil {
		return err
	}
	peer, err := parsePeerIdentity(m.Identity, "ServerIdentity")
	if err != nil {
		return err
	}
	h.hsOpener.seq++
	h.pending, h.pendingName = peer, m.Name
	h.decryptPeerSecret(m.SecretCT)
	h.addTranscript(pt)
	h.state = StateServerIdentityReceived
	return nil
}

// ReadServerVerify checks the responder's signature over TH(m1..m5). After
// it, [Handshake.Peer] is the authenticated responder; the caller checks that
// it is the key it expected and, if not, ends with WriteAlert (code 10).
func (h *Handshake) ReadServerVerify(rec []byte) error {
	if err := h.expect(true, StateServerIdentityReceived, "ReadServerVerify"); err != nil {
		return err
	}
	pt, err := h.openHandshake(rec, "ServerVerify")
	if err != nil {
		return err
	}
	m, err := parseServerVerify(pt)
	if err != nil {
		return err
	}
	if err := verify(h.pending, labelSigResponder, h.transcriptHash(), m.Signature); err != nil {
		return err
	}
	h.hsOpener.seq++
	h.peer, h.peerName = h.pending, h.pendingName
	h.addTranscript(pt)
	h.state = StateServerVerifyReceived
	return nil
}

// WriteClientKey returns the initiator's ClientKey (secret_I transported to
// the responder's key) in a handshake record, and its Finished, the first
// record under the final keys. It is [Handshake.WriteClientKeyRecord] and
// [Handshake.WriteClientFinished] in one call, except that a secret_R that
// does not decrypt fails it before anything is written.
func (h *Handshake) WriteClientKey() ([][]byte, error) {
	if err := h.expect(true, StateServerVerifyReceived, "WriteClientKey"); err != nil {
		return nil, err
	}
	if err := h.awaitPeerSecret(); err != nil {
		return nil, err
	}
	m7, err := h.WriteClientKeyRecord()
	if err != nil {
		return nil, err
	}
	fin, err := h.WriteClientFinished()
	if err != nil {
		return nil, err
	}
	return [][]byte{m7, fin}, nil
}

// WriteClientKeyRecord returns the initiator's ClientKey alone, sealed in a
// handshake record. Sent at once, it lets the responder decrypt secret_I
// while the initiator may still be decrypting secret_R, which
// [Handshake.WriteClientFinished] then waits for: the bytes on the wire are
// the same as with [Handshake.WriteClientKey], only sooner.
func (h *Handshake) WriteClientKeyRecord() ([]byte, error) {
	if err := h.expect(true, StateServerVerifyReceived, "WriteClientKeyRecord"); err != nil {
		return nil, err
	}
	secret, err := h.readRandom(SecretSize)
	if err != nil {
		return nil, err
	}
	ct, err := h.sendSecret(h.peer, secret) // while secret_R decrypts
	if err != nil {
		clear(secret)
		return nil, err
	}
	m7 := (&clientKey{SecretCT: ct}).marshal()
	recs, err := h.sealHandshake(m7)
	if err != nil {
		clear(secret)
		return nil, err
	}
	h.secretOurs = secret
	h.addTranscript(m7)
	h.state = StateClientKeyOnlySent
	return recs[0], nil
}

// WriteClientFinished derives the final keys, once secret_R has been
// decrypted, and returns the initiator's Finished, the first record under
// them, after [Handshake.WriteClientKeyRecord].
func (h *Handshake) WriteClientFinished() ([]byte, error) {
	if err := h.expect(true, StateClientKeyOnlySent, "WriteClientFinished"); err != nil {
		return nil, err
	}
	if err := h.awaitPeerSecret(); err != nil {
		return nil, err
	}
	th7 := h.transcriptHash() // m7 is the last message of the transcript
	sealer, opener, err := h.finalKeys(h.secretOurs, h.secretPeer, th7)
	if err != nil {
		return nil, err
	}
	fin, err := sealer.Seal(finishedPayload(th7, true))
	if err != nil {
		return nil, err
	}
	h.sealer, h.opener, h.final = sealer, opener, th7
	h.state = StateClientKeySent
	return fin, nil
}

// ReadClientKey opens the initiator's ClientKey, decrypts secret_I and
// derives the final keys.
func (h *Handshake) ReadClientKey(rec []byte) error {
	if err := h.expect(false, StateServerIdentitySent, "ReadClientKey"); err != nil {
		return err
	}
	pt, err := h.openHandshake(rec, "ClientKey")
	if err != nil {
		return err
	}
	m, err := parseClientKey(pt)
	if err != nil {
		return err
	}
	secret, err := receiveSecret(h.cfg.Identity.priv, m.SecretCT)
	if err != nil {
		return err
	}
	th7 := h.transcriptWith(pt)
	sealer, opener, err := h.finalKeys(secret, h.secretOurs, th7)
	if err != nil {
		clear(secret)
		return err
	}
	h.hsOpener.seq++
	h.secretPeer = secret
	h.sealer, h.opener, h.final = sealer, opener, th7
	h.addTranscript(pt)
	h.state = StateClientKeyReceived
	return nil
}

// finalKeys runs the key schedule (see [KeySchedule]) and returns our sealer
// and opener.
func (h *Handshake) finalKeys(secretI, secretR, th7 []byte) (*Sealer, *Opener, error) {
	ikm := make([]byte, 0, 4*32)
	ikm = append(ikm, h.sharedX25519...)
	ikm = append(ikm, h.sharedMLKEM...)
	ikm = append(append(ikm, secretI...), secretR...)
	defer clear(ikm)
	i2r, r2i, err := KeySchedule(ikm, th7)
	if err != nil {
		return nil, nil, err
	}
	defer clear(i2r)
	defer clear(r2i)
	return h.directions(i2r, r2i)
}

// KeySchedule derives the two direction keys of the session from
// ikm = ss_x || ss_m || secret_I || secret_R and TH(m1..m7):
//
//	prk     = HKDF-Extract(SHA-256, salt = th7, ikm)
//	key_i2r = HKDF-Expand(prk, "SecureChat v2 initiator to responder", 32)
//	key_r2i = HKDF-Expand(prk, "SecureChat v2 responder to initiator", 32)
func KeySchedule(ikm, th7 []byte) (i2r, r2i []byte, err error) {
	return expandPair(ikm, th7, labelKeyI2R, labelKeyR2I)
}

// finishedPayload is the plaintext of a Finished record: a type byte, the
// label, TH(m1..m7), then the sender's role.
func finishedPayload(th7 []byte, initiator bool) []byte {
	role := byte('R')
	if initiator {
		role = 'I'
	}
	b := append([]byte{MsgFinished}, labelFinished...)
	return append(append(b, th7...), role)
}

// ReadFinished checks the partner's Finished record (application record 0).
// On the initiator it ends the handshake (Done); on the responder it comes
// before WriteFinished. An alert sealed under the handshake key in its place
// is returned as a [*Alert].
func (h *Handshake) ReadFinished(rec []byte) error {
	want := StateClientKeyReceived
	if h.initiator {
		want = StateClientKeySent
	}
	if err := h.expect(h.initiator, want, "ReadFinished"); err != nil {
		return err
	}
	pt, err := h.opener.peek(rec)
	if err != nil {
		// The partner may have failed on its side and sent an alert
		// under the handshake key instead.
		if apt, herr := h.hsOpener.peek(rec); herr == nil && len(apt) > 0 && apt[0] == TypeAlert {
			if a, aerr := ParseAlert(apt); aerr == nil {
				return a
			}
		}
		return fmt.Errorf("%w: Finished: %w", ErrAuthFailed, err)
	}
	if !hmac.Equal(pt, finishedPayload(h.final, !h.initiator)) {
		return fmt.Errorf("%w: the Finished record does not match our transcript", ErrAuthFailed)
	}
	h.opener.seq++
	if h.initiator {
		h.state = StateDone
		h.wipe()
	} else {
		h.state = StateFinishedReceived
	}
	return nil
}

// WriteFinished returns the responder's Finished record, once it has
// checked the initiator's. The handshake is then done.
func (h *Handshake) WriteFinished() ([]byte, error) {
	if err := h.expect(false, StateFinishedReceived, "WriteFinished"); err != nil {
		return nil, err
	}
	fin, err := h.sealer.Seal(finishedPayload(h.final, false))
	if err != nil {
		return nil, err
	}
	h.state = StateDone
	h.wipe()
	return fin, nil
}

// WriteAlert ends the handshake with an alert for the partner: a cleartext
// frame before the handshake keys exist, a handshake record after (an
// authenticated refusal that reveals nothing, for example [AlertNotAdmitted]
// after ReadClientVerify). The handshake is then Closed and its secrets
// wiped. It fails when the handshake is Done or already Closed.
func (h *Handshake) WriteAlert(a Alert) ([]byte, error) {
	if h.state == StateDone || h.state == StateClosed {
		return nil, fmt.Errorf("crypto: unexpected call to WriteAlert in state %s", h.state)
	}
	msg := MarshalAlert(a)
	if h.hsSealer != nil {
		rec, err := h.hsSealer.Seal(msg)
		if err != nil {
			return nil, err
		}
		msg = rec
	}
	h.Close()
	return msg, nil
}

// wipe forgets every secret the handshake no longer needs. The application
// sealer and opener stay for Channel.
func (h *Handshake) wipe() {
	if h.peerSecret != nil {
		r := <-h.peerSecret // the decryption ends by itself within milliseconds
		clear(r.secret)
		h.peerSecret = nil
	}
	clear(h.secretOurs)
	clear(h.secretPeer)
	clear(h.sharedX25519)
	clear(h.sharedMLKEM)
	clear(h.cfg.InviteSecret)
	h.secretOurs, h.secretPeer, h.sharedX25519, h.sharedMLKEM, h.cfg.InviteSecret = nil, nil, nil, nil, nil
	h.x25519, h.dk = nil, nil
	h.hsSealer, h.hsOpener = nil, nil
}

// Close wipes every secret of the handshake: transported secrets, shared
// secrets, ephemeral private keys and handshake keys. Call it on every exit
// path; it may be called many times, and after Done, where it leaves the
// channel that [Handshake.Channel] returns working. Before Done it moves the
// handshake to Closed, where every call fails.
func (h *Handshake) Close() {
	h.wipe()
	if h.state != StateDone {
		h.state = StateClosed
		h.sealer, h.opener = nil, nil
	}
}

// Peer returns the partner's identity key and display name once the
// partner's signature has been verified (after ReadClientVerify on the
// responder, ReadServerVerify on the initiator), and nil before.
func (h *Handshake) Peer() (*PublicIdentity, string) { return h.peer, h.peerName }

// TranscriptHash returns TH(m1..m7) once the final keys exist.
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
