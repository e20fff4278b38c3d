package session

import (
	"errors"
	"fmt"
	"slices"
	"time"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/names"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/transport"
)

// Errors about whom we reached, for front ends to tell apart.
var (
	// ErrWrongKey: the address of an invite answered with another key than
	// the invite's. Someone may be intercepting; nothing was sent.
	ErrWrongKey = errors.New("session: the partner's key is not the one expected: someone may be intercepting")
	// ErrInviteExpired: the invite's expiry has passed.
	ErrInviteExpired = errors.New("session: the invite has expired")
	// ErrNotAdmitted: the host admits only its contacts and invitees.
	ErrNotAdmitted = errors.New("session: the host admits only its contacts and people it invited")
	// ErrInviteRefused: the host did not accept the invite (unknown, used or expired there).
	ErrInviteRefused = errors.New("session: the host refused the invite")
	// ErrOlderPeer: the partner runs another version of the SecureChat protocol.
	ErrOlderPeer = errors.New("session: the partner runs another SecureChat version")
)

// Target is whom a connecting side dials, and what it knows before the
// first byte.
type Target struct {
	// Addrs are tried in order until one answers ("host:port").
	Addrs []string
	// Contact is the id (key fingerprint) of the contact we mean to reach;
	// another key answering is a changed key. "" when unknown.
	Contact string
	// InviteKey, with an invite, is the inviter's key fingerprint: another
	// key answering is refused outright.
	InviteKey string
	// InviteSecret is proved, inside the encrypted handshake, to the inviter.
	InviteSecret []byte
	// InviteExpires is the invite's expiry; a dial after it fails at once.
	InviteExpires time.Time
}

// expectation is what the dialing side knows of the key that must answer.
type expectation struct {
	ids      []string // any of these keys is the one meant
	names    []string // the contacts' names, for the warning
	invite   bool
	secret   []byte
	explicit bool // the user picked the contact or the invite
}

func (e *expectation) any() bool { return len(e.ids) > 0 }

// expect works out which key must answer target: the invite's, the
// contact's, or that of any contact reached at one of the addresses before.
func (s *Session) expect(t Target) (expectation, error) {
	var e expectation
	switch {
	case t.InviteKey != "":
		if !t.InviteExpires.IsZero() && !s.cfg.Now().Before(t.InviteExpires) {
			return e, fmt.Errorf("%w (on %s); ask for a new one", ErrInviteExpired, t.InviteExpires.Local().Format("2 Jan 2006 15:04"))
		}
		e.ids, e.names, e.invite, e.secret, e.explicit = []string{t.InviteKey}, []string{"the inviter"}, true, t.InviteSecret, true
		if c, ok := s.contact(t.InviteKey); ok {
			e.names = []string{c.Name}
		}
	case t.Contact != "":
		c, ok := s.contact(t.Contact)
		if !ok {
			return e, fmt.Errorf("session: no contact with id %s", t.Contact)
		}
		e.ids, e.names, e.explicit = []string{c.ID}, []string{c.Name}, true
	default:
		if s.cfg.Store == nil {
			return e, nil
		}
		for _, c := range s.cfg.Store.Contacts() {
			for _, a := range t.Addrs {
				if slices.Contains(c.Addrs, a) && !slices.Contains(e.ids, c.ID) {
					e.ids = append(e.ids, c.ID)
					e.names = append(e.names, c.Name)
				}
			}
		}
	}
	return e, nil
}

func (s *Session) contact(id string) (profile.Contact, bool) {
	if s.cfg.Store == nil {
		return profile.Contact{}, false
	}
	return s.cfg.Store.Contact(id)
}

// classify says what the partner's key is to us. exp is what the dialing
// side expected (nil for the host); invited reports that the initiator
// proved an invite of ours.
func (s *Session) classify(peer *scrypto.PublicIdentity, name string, exp *expectation, invited bool) Partner {
	fp := peer.Fingerprint()
	p := Partner{Name: name, Fingerprint: fp, SafetyNumber: scrypto.SafetyNumber(s.cfg.Identity.Public(), peer)}
	c, isContact := s.contact(fp)
	if isContact {
		p.ContactName = c.Name
	}
	switch {
	case exp != nil && exp.any() && !slices.Contains(exp.ids, fp):
		p.Trust = TrustChanged
		p.Expected = exp.names[0]
	case exp != nil && exp.invite:
		p.Trust = TrustInvited
		if isContact && c.Verified {
			p.Trust = TrustVerified
		}
	case isContact && c.Verified:
		p.Trust = TrustVerified
	case isContact && c.Invited:
		p.Trust = TrustInvited
	case isContact:
		p.Trust = TrustKnown
	case invited:
		p.Trust = TrustInvited
	default:
		p.Trust = TrustNew
	}
	if !isContact {
		p.LooksLike = s.lookalike(fp, name)
	}
	return p
}

// lookalike returns the name of a contact, other than key fp, whose name
// (the one we gave it or its own) is confusable with name.
func (s *Session) lookalike(fp, name string) string {
	if s.cfg.Store == nil {
		return ""
	}
	for _, c := range s.cfg.Store.Contacts() {
		if c.ID == fp {
			continue
		}
		if names.Confusable(name, c.Name) || (c.TheirName != "" && names.Confusable(name, c.TheirName)) {
			return c.Name
		}
	}
	return ""
}

// admitted records the partner as a contact once both sides let each other
// in: a new key becomes a contact named as it calls itself; a changed key
// that the user chose to trust takes over the expected contact's name and
// addresses; a known contact's last-seen, name and address are updated.
func (s *Session) admitted(p Partner, key []byte, dialed, replaces string, also []string) error {
	st := s.cfg.Store
	if st == nil {
		return nil
	}
	now := s.cfg.Now()
	c, ok := st.Contact(p.Fingerprint)
	if !ok {
		c = profile.Contact{ID: p.Fingerprint, Name: p.Name, FirstSeen: now, Invited: p.Trust == TrustInvited}
		if old, found := st.Contact(replaces); found && p.Trust == TrustChanged {
			c.Name, c.Addrs = old.Name, slices.Clone(old.Addrs)
		}
	}
	c.Key = key
	c.TheirName = p.Name
	c.LastSeen = now
	// An invite's addresses are all the inviter's (its key answered one
	// of them): keep them all, so that reconnecting can try the direct
	// ones first and the onion address after. The one that answered is
	// the newest.
	for i := len(also) - 1; i >= 0; i-- {
		if also[i] != dialed {
			c.AddAddr(also[i])
		}
	}
	if dialed != "" {
		c.AddAddr(dialed)
	}
	// ErrNotDurable: the contact is saved and in effect, only the folder's
	// fsync failed; the chat goes on.
	if err := st.SaveContact(c); err != nil && !errors.Is(err, history.ErrNotDurable) {
		return fmt.Errorf("session: failed to save the contact: %w", err)
	}
	if p.Trust == TrustChanged && replaces != "" && replaces != c.ID {
		// The user trusted the new key in place of the old one: the old
		// key is no longer this contact. Its conversations stay.
		if err := st.DeleteContact(replaces); err != nil && !errors.Is(err, profile.ErrNoContact) && !errors.Is(err, history.ErrNotDurable) {
			return fmt.Errorf("session: failed to replace the contact's key: %w", err)
		}
	}
	return nil
}

// checkInvite finds the invite of ours whose secret the initiator proved
// and counts one use. It returns an alert to refuse with when the invite is
// not valid any more.
func (s *Session) checkInvite(prove func(secret []byte) bool) (*scrypto.Alert, error) {
	st := s.cfg.Store
	if st == nil {
		return &scrypto.Alert{Code: scrypto.AlertInvite, Reason: "this SecureChat keeps no invites"}, ErrInviteRefused
	}
	for _, inv := range st.Invites() {
		if !prove(inv.Secret) {
			continue
		}
		switch err := st.UseInvite(inv.ID(), s.cfg.Now()); {
		case errors.Is(err, profile.ErrInviteExpired):
			return &scrypto.Alert{Code: scrypto.AlertInvite, Reason: "the invite expired on " + inv.Expires.UTC().Format("2 Jan 2006 15:04 UTC") + "; ask for a new one"}, ErrInviteRefused
		case errors.Is(err, profile.ErrInviteUsed):
			return &scrypto.Alert{Code: scrypto.AlertInvite, Reason: "the invite was already used; ask for a new one"}, ErrInviteRefused
		case err != nil && !errors.Is(err, history.ErrNotDurable):
			return &scrypto.Alert{Code: scrypto.AlertInternal, Reason: "internal error"}, err
		}
		return nil, nil
	}
	return &scrypto.Alert{Code: scrypto.AlertInvite, Reason: "the invite is not known here (it may have been cancelled); ask for a new one"}, ErrInviteRefused
}

// normalizeAll normalises every address of a target.
func normalizeAll(addrs []string) ([]string, error) {
	if len(addrs) == 0 {
		return nil, errors.New("session: no address to dial")
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		hp, err := transport.NormalizeAddr(a)
		if err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		out = append(out, hp)
	}
	return out, nil
}
