// Package profile is what a SecureChat profile knows besides its history:
// the display name, the identity key, the contacts (keyed by their identity
// keys), the invites it made, its settings and the addresses last dialled.
// It is data and its encoding only; the history package seals it under the
// profile's data key in profile.sealed (docs/HISTORY-FORMAT.md).
//
// A contact is an identity key. For each key the user let in, the profile
// keeps the name the user gave it, the name its owner calls themself, where
// it was reached and whether the safety number was verified. Names are
// labels: nothing here looks a contact up by name to decide trust.
package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Limits on what a profile keeps.
const (
	// MaxContactAddrs bounds the addresses remembered per contact.
	MaxContactAddrs = 8
	// MaxRecentAddrs bounds the addresses remembered for the Connect dialog.
	MaxRecentAddrs = 8
	// MaxInvites bounds the invites a profile keeps; the oldest go first.
	MaxInvites = 64
	// KeepExpired is how long an expired invite is remembered, so that an
	// invitee who uses it late is told it expired rather than that it is
	// unknown.
	KeepExpired = 30 * 24 * time.Hour
)

// Errors the profile's operations return.
var (
	// ErrNoContact is returned for a contact id the profile does not have.
	ErrNoContact = errors.New("profile: no such contact")
	// ErrNoInvite is returned for an invite id the profile does not have.
	ErrNoInvite = errors.New("profile: no such invite")
	// ErrInviteUsed: the invite admitted as many contacts as it allows.
	ErrInviteUsed = errors.New("profile: the invite was already used")
	// ErrInviteExpired: the invite's expiry has passed.
	ErrInviteExpired = errors.New("profile: the invite has expired")
)

// Contact is what the profile remembers about one partner's identity key.
type Contact struct {
	// ID is the fingerprint of the contact's identity key: SHA-256 of its
	// PKIX DER in lower-case hex. It never changes.
	ID string
	// Key is the identity key's PKIX DER. Contacts migrated from a version
	// 1 profile have none until they connect again.
	Key []byte
	// Name is the name the user gave the contact; it starts as TheirName.
	Name string
	// TheirName is the display name the contact last sent (self-asserted).
	TheirName string
	// Addrs are the addresses the contact was reached at, newest first.
	Addrs     []string
	FirstSeen time.Time
	LastSeen  time.Time
	// Verified: the user compared the safety number with the contact.
	Verified bool
	// Invited: the first contact was made with an invite, so the key was
	// known before the first byte was exchanged.
	Invited bool
}

// AddAddr puts addr first in the contact's addresses.
func (c *Contact) AddAddr(addr string) {
	if addr == "" {
		return
	}
	c.Addrs = slices.DeleteFunc(c.Addrs, func(a string) bool { return a == addr })
	c.Addrs = append([]string{addr}, c.Addrs...)
	if len(c.Addrs) > MaxContactAddrs {
		c.Addrs = c.Addrs[:MaxContactAddrs]
	}
}

// Invite is an invitation this profile made: the secret an invitee must
// prove, with its expiry and remaining uses. The code given to the invitee
// is made from it by the invite package.
type Invite struct {
	Secret  []byte
	Created time.Time
	Expires time.Time
	// Uses is how many first contacts the invite may still admit.
	Uses int
	// Used counts the contacts it admitted.
	Used int
}

// ID is a short, non-secret name for an invite (for lists and cancelling):
// the first 8 bytes of SHA-256 of its secret, in hex.
func (i Invite) ID() string {
	sum := sha256.Sum256(append([]byte("SecureChat invite id\x00"), i.Secret...))
	return hex.EncodeToString(sum[:8])
}

// Settings are the profile's choices that are not contacts.
type Settings struct {
	// OnlyContacts: a host admits only its contacts and invitees, and
	// reveals nothing about itself to anyone else.
	OnlyContacts bool
	// ListenPort is the port last used to host; 0 means the default.
	ListenPort int
	// Listen: the app listens for contacts from the moment it is unlocked
	// (the user turned listening on and did not turn it off).
	Listen bool
	// Tor: Tor mode is on. The app runs its own tor, publishes its
	// listener as an onion service and dials .onion addresses through it.
	Tor bool
	// TorOnly: with Tor mode, contacts reach us only through Tor (the
	// listener takes connections from this computer only, invites carry
	// only the onion address) and we dial only .onion addresses, so that
	// no contact learns our IP address.
	TorOnly bool
	// TorPath is the tor program the user chose; empty: look for it.
	TorPath string
	// AutoAcceptPictures: a picture (PNG, JPEG or GIF) under 10 MB that a
	// verified contact offers is accepted without asking (version 5).
	AutoAcceptPictures bool
}

// OnionKeySize is the size of [Profile.OnionKey].
const OnionKeySize = 32

// Profile is the content of a profile. The zero value is empty; [Parse]
// reads an encoded one and [Profile.Marshal] encodes it. A Profile is not
// safe for concurrent use; the vault guards it and changes a [Profile.Clone].
type Profile struct {
	Name     string
	Identity []byte // the identity key, PKCS #8 DER
	// FileID names the history log this profile's records belong to.
	FileID   []byte
	Contacts []Contact
	Invites  []Invite
	Settings Settings
	Recent   []string // addresses last dialled, newest first
	// Read holds each thread's read mark: how many of the messages
	// received from that key (the map's key) the user has seen.
	Read map[string]int
	// OnionKey is the seed of the ed25519 key of our onion service (Tor
	// mode): OnionKeySize bytes, made the first time Tor mode is used, so
	// that the onion address stays the same. Sealed with the rest; handed
	// to tor on each start, never written anywhere else.
	OnionKey []byte
	// NoReadMarks is set by [Parse] for a profile written before read
	// marks existed (version 1 or 2): its whole history counts as read,
	// which the vault applies once the history is indexed. Not stored.
	NoReadMarks bool
}

// Clone returns a copy that shares nothing with p.
func (p *Profile) Clone() *Profile {
	q := *p
	q.Identity = slices.Clone(p.Identity)
	q.FileID = slices.Clone(p.FileID)
	q.OnionKey = slices.Clone(p.OnionKey)
	q.Contacts = make([]Contact, len(p.Contacts))
	for i, c := range p.Contacts {
		q.Contacts[i] = c.clone()
	}
	q.Invites = make([]Invite, len(p.Invites))
	for i, inv := range p.Invites {
		inv.Secret = slices.Clone(inv.Secret)
		q.Invites[i] = inv
	}
	q.Recent = slices.Clone(p.Recent)
	q.Read = maps.Clone(p.Read)
	return &q
}

func (c Contact) clone() Contact {
	c.Key = slices.Clone(c.Key)
	c.Addrs = slices.Clone(c.Addrs)
	return c
}

// SortedContacts returns copies of every contact, ordered by name.
func (p *Profile) SortedContacts() []Contact {
	out := make([]Contact, 0, len(p.Contacts))
	for _, c := range p.Contacts {
		out = append(out, c.clone())
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Contact returns a copy of the contact whose key has fingerprint id.
func (p *Profile) Contact(id string) (Contact, bool) {
	for _, c := range p.Contacts {
		if c.ID == id {
			return c.clone(), true
		}
	}
	return Contact{}, false
}

// SaveContact adds c, or replaces the contact with its id.
func (p *Profile) SaveContact(c Contact) error {
	if err := CheckContactID(c.ID); err != nil {
		return err
	}
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("profile: a contact needs a name")
	}
	c = c.clone()
	if len(c.Addrs) > MaxContactAddrs {
		c.Addrs = c.Addrs[:MaxContactAddrs]
	}
	if i := slices.IndexFunc(p.Contacts, func(q Contact) bool { return q.ID == c.ID }); i >= 0 {
		p.Contacts[i] = c
		return nil
	}
	p.Contacts = append(p.Contacts, c)
	return nil
}

// RenameContact changes the name the user gave a contact.
func (p *Profile) RenameContact(id, name string) error {
	c, ok := p.Contact(id)
	if !ok {
		return ErrNoContact
	}
	c.Name = name
	return p.SaveContact(c)
}

// DeleteContact forgets a contact.
func (p *Profile) DeleteContact(id string) error {
	n := len(p.Contacts)
	p.Contacts = slices.DeleteFunc(p.Contacts, func(q Contact) bool { return q.ID == id })
	if len(p.Contacts) == n {
		return ErrNoContact
	}
	return nil
}

// CheckContactID checks that id has the form of a key fingerprint.
func CheckContactID(id string) error {
	if len(id) != 64 || strings.ToLower(id) != id {
		return fmt.Errorf("profile: a contact id is 64 lower-case hex digits, got %q", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return fmt.Errorf("profile: a contact id is 64 lower-case hex digits, got %q", id)
	}
	return nil
}

// AddInvite remembers an invitation this profile made, forgetting invites
// that expired long ago and the oldest beyond [MaxInvites].
func (p *Profile) AddInvite(inv Invite) error {
	if len(inv.Secret) < 16 {
		return errors.New("profile: an invite secret is at least 16 bytes")
	}
	if inv.Uses < 1 {
		return errors.New("profile: an invite admits at least one contact")
	}
	inv.Secret = slices.Clone(inv.Secret)
	p.Invites = append(p.Invites, inv)
	p.Invites = slices.DeleteFunc(p.Invites, func(i Invite) bool { return inv.Created.Sub(i.Expires) > KeepExpired })
	if len(p.Invites) > MaxInvites {
		p.Invites = p.Invites[len(p.Invites)-MaxInvites:]
	}
	return nil
}

// UseInvite counts one use of the invite with that id, and refuses an
// invite that is used up or expired at now.
func (p *Profile) UseInvite(id string, now time.Time) error {
	for k := range p.Invites {
		inv := &p.Invites[k]
		if inv.ID() != id {
			continue
		}
		switch {
		case !now.Before(inv.Expires):
			return ErrInviteExpired
		case inv.Used >= inv.Uses:
			return ErrInviteUsed
		}
		inv.Used++
		return nil
	}
	return ErrNoInvite
}

// CancelInvite forgets an invite, so that nobody can use it any more.
func (p *Profile) CancelInvite(id string) error {
	n := len(p.Invites)
	p.Invites = slices.DeleteFunc(p.Invites, func(i Invite) bool { return i.ID() == id })
	if len(p.Invites) == n {
		return ErrNoInvite
	}
	return nil
}

// AddRecentAddr puts addr first in the addresses last dialled.
func (p *Profile) AddRecentAddr(addr string) {
	if addr == "" {
		return
	}
	p.Recent = slices.DeleteFunc(p.Recent, func(a string) bool { return a == addr })
	p.Recent = append([]string{addr}, p.Recent...)
	if len(p.Recent) > MaxRecentAddrs {
		p.Recent = p.Recent[:MaxRecentAddrs]
	}
}
