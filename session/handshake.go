package session

// A link's handshake: the secure handshake (crypto's own state machine) or
// a configured greeting, who answered, refusals and alerts, and which end
// reason an error means.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/transport"
)

// secureLayer is the record layer of the secure handshake's channel.
type secureLayer struct {
	sealer *scrypto.Sealer
	opener *scrypto.Opener
}

func (l secureLayer) Seal(pt []byte) ([]byte, error)  { return l.sealer.Seal(pt) }
func (l secureLayer) Open(rec []byte) ([]byte, error) { return l.opener.Open(rec) }

// sayBusy tells a partner whose handshake finished while too many
// requests wait that the host is busy (a sealed Bye), and closes.
func (l *link) sayBusy() {
	if rec, err := l.layer.Seal(encodeBye("busy: too many people are waiting to be let in; try again later")); err == nil {
		l.conn.WriteTimeout = time.Second
		_ = l.conn.WriteFrame(rec)
		_ = l.conn.CloseWrite()
	}
	l.end(EndBusy, nil)
}

// dialReason tells why a dial failed.
func dialReason(err error) EndReason {
	var dns *net.DNSError
	var viaTor *torDialError
	switch {
	case errors.Is(err, context.Canceled):
		return EndCancelled
	case errors.Is(err, ErrNoTor):
		return EndTorOff
	case errors.Is(err, ErrOnlyTor):
		return EndTorOnly
	case errors.As(err, &viaTor):
		return EndTorUnreachable
	case errors.Is(err, syscall.ECONNREFUSED):
		return EndRefused
	case errors.As(err, &dns), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return EndUnreachable
	}
	return EndNetwork
}

// alertReason is the end reason of an alert the peer sent.
func alertReason(a *scrypto.Alert) EndReason {
	switch a.Code {
	case scrypto.AlertBusy:
		return EndBusy
	case scrypto.AlertVersion:
		return EndVersion
	case scrypto.AlertAuthFailed:
		return EndSecurity
	case scrypto.AlertNotAdmitted:
		return EndNotAdmitted
	case scrypto.AlertInvite:
		return EndInviteRefused
	case scrypto.AlertWrongKey:
		return EndWrongKey
	case scrypto.AlertProtocol, scrypto.AlertPlaintext, scrypto.AlertSecureRefused:
		return EndNotSecureChat
	}
	return EndNetwork
}

// reasonOf tells why a link failed with err; peer is the partner's own
// words (an alert's reason), untrusted.
func reasonOf(err error) (r EndReason, peer string) {
	var a *scrypto.Alert
	switch {
	case err == nil:
		return EndNetwork, ""
	case errors.Is(err, ErrWrongKey):
		return EndWrongKey, ""
	case errors.As(err, &a):
		return alertReason(a), a.Reason
	case errors.Is(err, ErrNotAdmitted):
		return EndNotAdmitted, ""
	case errors.Is(err, ErrOlderPeer), errors.Is(err, scrypto.ErrVersion):
		return EndVersion, ""
	case errors.Is(err, ErrInviteRefused):
		return EndInviteRefused, ""
	case errors.Is(err, scrypto.ErrAuthFailed), errors.Is(err, scrypto.ErrRecordAuth):
		return EndSecurity, ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return EndRefused, ""
	case errors.Is(err, transport.ErrFrameTooLarge), errors.Is(err, scrypto.ErrNotSecureChat):
		return EndNotSecureChat, ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return EndPartnerLeft, ""
	case isTimeout(err):
		return EndTimeout, ""
	}
	return EndNetwork, ""
}

// explain wraps an authenticated refusal from the partner in the error a
// front end tells apart.
func explain(err error) error {
	var a *scrypto.Alert
	switch {
	case errors.Is(err, scrypto.ErrVersion):
		return fmt.Errorf("%w: %w", ErrOlderPeer, err)
	case !errors.As(err, &a):
		return err
	case a.Code == scrypto.AlertNotAdmitted:
		return fmt.Errorf("%w: %w", ErrNotAdmitted, err)
	case a.Code == scrypto.AlertInvite:
		return fmt.Errorf("%w: %w", ErrInviteRefused, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handshake runs the secure handshake (or the configured greeting) within
// the handshake deadline.
func (l *link) handshake() error {
	cfg := l.s.cfg
	_ = l.conn.SetDeadline(time.Now().Add(l.handshakeTimeout()))
	defer func() { _ = l.conn.SetDeadline(time.Time{}) }()
	if cfg.Greeting != nil {
		return l.greet()
	}
	hcfg := scrypto.Config{Identity: cfg.Identity, Name: cfg.Name, Random: cfg.Random}
	if l.initiator {
		hcfg.InviteSecret = l.expect.secret
	}
	var (
		h   *scrypto.Handshake
		err error
	)
	if l.initiator {
		h, err = scrypto.NewInitiator(hcfg)
	} else {
		h, err = scrypto.NewResponder(hcfg)
	}
	if err != nil {
		return err
	}
	defer h.Close() // wipes the handshake's secrets on every path
	if err := l.runHandshake(h); err != nil {
		l.sendAlert(h, err)
		return err
	}
	sealer, opener, err := h.Channel()
	if err != nil {
		return err
	}
	l.layer = secureLayer{sealer: sealer, opener: opener}
	return nil
}

// identify classifies the authenticated partner: what its key is to us.
func (l *link) identify(peer *scrypto.PublicIdentity, name string, invited bool) error {
	var exp *expectation
	if l.initiator {
		exp = &l.expect
	}
	p := l.s.classify(peer, name, exp, invited)
	if exp != nil && exp.invite && p.Trust == TrustChanged {
		return fmt.Errorf("%w: the invite is for key %s, and %s answered with key %s", ErrWrongKey, exp.ids[0][:16], l.addr, p.Fingerprint[:16])
	}
	if !l.initiator && l.s.onlyContacts.Load() && p.Trust == TrustNew {
		return ErrNotAdmitted
	}
	p.Addr = l.addr
	l.fingerprint = p.Fingerprint
	l.peerKey = peer.Bytes()
	l.mu.Lock()
	l.partner = &p
	l.mu.Unlock()
	return nil
}

func (l *link) runHandshake(h *scrypto.Handshake) error {
	read := func() ([]byte, error) {
		f, err := l.conn.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("session: handshake: %w", err)
		}
		return f, nil
	}
	// write sends frames in one system call: ClientIdentity and
	// ClientVerify go out together.
	write := func(frames ...[]byte) error {
		var buf []byte
		for _, b := range frames {
			buf = append(buf, transport.Frame(b)...)
		}
		if err := l.conn.WriteRaw(buf); err != nil {
			return fmt.Errorf("session: handshake: %w", err)
		}
		return nil
	}
	// readInto reads one frame and hands it to a handshake step.
	readInto := func(step func([]byte) error) error {
		m, err := read()
		if err != nil {
			return err
		}
		return step(m)
	}
	if l.initiator {
		m, err := h.WriteClientHello()
		if err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		if err := readInto(h.ReadServerHello); err != nil {
			return err
		}
		recs, err := h.WriteClientIdentity()
		if err != nil {
			return err
		}
		if err := write(recs...); err != nil {
			return err
		}
		// The responder answers with two records (ServerIdentity,
		// ServerVerify), or with one sealed alert when it refuses us.
		if err := readInto(h.ReadServerIdentity); err != nil {
			return err
		}
		if err := readInto(h.ReadServerVerify); err != nil {
			return err
		}
		// The responder is authenticated: is it whom we meant? An invite's
		// address answering with another key is refused here, before our
		// half of the key exchange goes out.
		peer, name := h.Peer()
		if err := l.identify(peer, name, false); err != nil {
			return err
		}
		// ClientKey goes out at once, so that the responder decrypts
		// secret_I while we may still be decrypting secret_R; our
		// Finished follows once that is done.
		if m, err = h.WriteClientKeyRecord(); err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		if m, err = h.WriteClientFinished(); err != nil {
			return err
		}
		if err := write(m); err != nil {
			return err
		}
		return readInto(h.ReadFinished)
	}
	if err := readInto(h.ReadClientHello); err != nil {
		return err
	}
	m, err := h.WriteServerHello()
	if err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if err := readInto(h.ReadClientIdentity); err != nil {
		return err
	}
	if err := readInto(h.ReadClientVerify); err != nil {
		return err
	}
	// The initiator is authenticated; we have revealed nothing of
	// ourselves yet. An invite it proves is checked and counted; a host
	// that admits only contacts and invitees refuses anyone else here.
	invited := false
	if h.InviteProofPresent() && !l.s.cfg.answerAnyInvite {
		alert, err := l.s.checkInvite(h.CheckInviteProof)
		if err != nil {
			return &refusal{alert: *alert, err: err}
		}
		invited = true
	}
	peer, name := h.Peer()
	if err := l.identify(peer, name, invited); err != nil {
		return err
	}
	// ServerIdentity goes out before we sign, so that the initiator
	// decrypts secret_R while we compute ServerVerify: two RSA private-key
	// operations at once, one on each side, instead of one after the other.
	if m, err = h.WriteServerIdentityRecord(); err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if m, err = h.WriteServerVerify(); err != nil {
		return err
	}
	if err := write(m); err != nil {
		return err
	}
	if err := readInto(h.ReadClientKey); err != nil {
		return err
	}
	if err := readInto(h.ReadFinished); err != nil {
		return err
	}
	if m, err = h.WriteFinished(); err != nil {
		return err
	}
	return write(m)
}

// refusal is a handshake we end on purpose, with the alert to say why.
type refusal struct {
	alert scrypto.Alert
	err   error
}

func (r *refusal) Error() string { return r.err.Error() + ": " + r.alert.Reason }
func (r *refusal) Unwrap() error { return r.err }

// sendAlert tells the peer why the handshake ended: in the clear before the
// handshake keys exist, sealed under them after.
func (l *link) sendAlert(h *scrypto.Handshake, err error) {
	var a *scrypto.Alert
	if errors.As(err, &a) || errors.Is(err, io.EOF) || isTimeout(err) {
		return // the peer spoke first, left, or is not there to read it
	}
	alert := scrypto.Alert{Code: scrypto.AlertProtocol, Reason: "protocol error"}
	var (
		ve  *scrypto.VersionError
		ref *refusal
	)
	switch {
	case errors.As(err, &ref):
		alert = ref.alert
	case errors.Is(err, ErrNotAdmitted):
		alert = scrypto.Alert{Code: scrypto.AlertNotAdmitted, Reason: "this SecureChat admits only its contacts and people it invited"}
	case errors.Is(err, ErrWrongKey):
		alert = scrypto.Alert{Code: scrypto.AlertWrongKey, Reason: "your key is not the one the invite is for"}
	case errors.Is(err, scrypto.ErrPlaintextPeer):
		alert = scrypto.Alert{Code: scrypto.AlertPlaintext, Reason: "this SecureChat peer only speaks the encrypted protocol and refuses the unencrypted --plaintext mode"}
	case errors.Is(err, scrypto.ErrAuthFailed):
		alert = scrypto.Alert{Code: scrypto.AlertAuthFailed, Reason: "authentication failed"}
	case errors.As(err, &ve):
		alert = ve.Alert()
	case errors.Is(err, scrypto.ErrVersion):
		alert = scrypto.Alert{Code: scrypto.AlertVersion, Reason: "unsupported protocol version"}
	case errors.Is(err, transport.ErrFrameTooLarge), errors.Is(err, scrypto.ErrNotSecureChat):
		alert = scrypto.Alert{Code: scrypto.AlertProtocol, Reason: "this is a SecureChat port; the data sent is not SecureChat"}
	}
	frame, werr := h.WriteAlert(alert)
	if werr != nil {
		return // the handshake is over on our side; nothing to say
	}
	l.conn.WriteTimeout = time.Second
	_ = l.conn.WriteFrame(frame)
}

// greet runs the configured greeting in place of the secure handshake.
// Such a link has no key: its contact id is "addr " and the remote
// address, so that each partner has a link of its own.
func (l *link) greet() error {
	layer, name, err := l.s.cfg.Greeting.Greet(l.conn, l.initiator, l.s.cfg.Name)
	if err != nil {
		return err
	}
	l.layer = layer
	l.mu.Lock()
	l.fingerprint = "addr " + l.addr
	l.partner = &Partner{Name: name, Addr: l.addr, Fingerprint: l.fingerprint, Trust: TrustNew}
	l.mu.Unlock()
	return nil
}

// exchangeHello sends our epoch as the first sealed record and reads the
// partner's, within the handshake deadline. The epochs tell a partner's
// second link of the same run (a simultaneous dial) from the link of a
// partner that restarted (docs/PROTOCOL.md, "Hello").
func (l *link) exchangeHello() error {
	_ = l.conn.SetDeadline(time.Now().Add(l.handshakeTimeout()))
	defer func() { _ = l.conn.SetDeadline(time.Time{}) }()
	rec, err := l.layer.Seal(encodeHello(l.s.epoch))
	if err != nil {
		return err
	}
	if err := l.conn.WriteFrame(rec); err != nil {
		return fmt.Errorf("session: hello: %w", err)
	}
	m, _, err := l.readMsg()
	if err != nil {
		return fmt.Errorf("session: hello: %w", err)
	}
	if m.typ != msgHello {
		return fmt.Errorf("%w: expected a hello, got message type 0x%02x", ErrProtocol, m.typ)
	}
	l.peerEpoch = m.epoch
	return nil
}
