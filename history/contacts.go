package history

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/securechat/securechat/invite"
)

// A contact is an identity key. The profile keeps, for each key the user let
// in, the name the user gave it, the name its owner calls themself, where it
// was reached and whether the safety number was verified. Names are labels:
// nothing here looks a contact up by name to decide trust.

// maxContactAddrs bounds the addresses remembered per contact.
const maxContactAddrs = 8

// ErrNoContact is returned for a contact id the profile does not have.
var ErrNoContact = errors.New("history: no such contact")

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

// InviteID is a short, non-secret name for an invite (for lists and
// cancelling): the first 8 bytes of SHA-256 of its secret, in hex.
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
}

type contactJSON struct {
	ID        string    `json:"id"`
	Key       []byte    `json:"key,omitempty"`
	Name      string    `json:"name"`
	TheirName string    `json:"their_name"`
	Addrs     []string  `json:"addrs,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Verified  bool      `json:"verified"`
	Invited   bool      `json:"invited"`
}

type inviteJSON struct {
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Uses    int       `json:"uses"`
	Used    int       `json:"used"`
}

type settingsJSON struct {
	OnlyContacts bool `json:"only_contacts"`
	ListenPort   int  `json:"listen_port,omitempty"`
}

// profileVersion is the version of the sealed profile's content that this
// code writes: 3 adds read marks per thread; 2 keeps contacts keyed by key;
// 1 (no version field) kept pins keyed by display name.
const profileVersion = 3

// migrate turns a version 1 profile's pins into contacts: the pin's
// display name becomes both the contact's name and its own, the pin's
// fingerprint its id. A profile older than version 3 has no read marks:
// everything in its history counts as read (markAll), which the caller
// applies once the history is indexed. Nothing is lost; the next save
// writes the current version.
func (pd *profileData) migrate() {
	if pd.Version >= profileVersion {
		return
	}
	pd.markAll = true
	for _, p := range pd.Pins {
		if p.Fingerprint == "" || slices.ContainsFunc(pd.Contacts, func(c contactJSON) bool { return c.ID == p.Fingerprint }) {
			continue
		}
		pd.Contacts = append(pd.Contacts, contactJSON{
			ID: strings.ToLower(p.Fingerprint), Name: p.Name, TheirName: p.Name,
			FirstSeen: p.FirstSeen, LastSeen: p.FirstSeen, Verified: p.Verified,
		})
	}
	pd.Pins = nil
	pd.Version = profileVersion
}

func (c contactJSON) contact() Contact {
	return Contact{
		ID: c.ID, Key: slices.Clone(c.Key), Name: c.Name, TheirName: c.TheirName,
		Addrs: slices.Clone(c.Addrs), FirstSeen: c.FirstSeen, LastSeen: c.LastSeen,
		Verified: c.Verified, Invited: c.Invited,
	}
}

func (c Contact) json() contactJSON {
	return contactJSON{
		ID: c.ID, Key: slices.Clone(c.Key), Name: c.Name, TheirName: c.TheirName,
		Addrs: slices.Clone(c.Addrs), FirstSeen: c.FirstSeen, LastSeen: c.LastSeen,
		Verified: c.Verified, Invited: c.Invited,
	}
}

// Contacts returns every contact, ordered by name.
func (v *Vault) Contacts() []Contact {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Contact, 0, len(v.prof.Contacts))
	for _, c := range v.prof.Contacts {
		out = append(out, c.contact())
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Contact returns the contact whose key has fingerprint id.
func (v *Vault) Contact(id string) (Contact, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, c := range v.prof.Contacts {
		if c.ID == id {
			return c.contact(), true
		}
	}
	return Contact{}, false
}

// SaveContact adds c, or replaces the contact with its id.
func (v *Vault) SaveContact(c Contact) error {
	if err := checkContactID(c.ID); err != nil {
		return err
	}
	if c.Name == "" {
		return errors.New("history: a contact needs a name")
	}
	if len(c.Addrs) > maxContactAddrs {
		c.Addrs = c.Addrs[:maxContactAddrs]
	}
	return v.updateProfile(func(pd *profileData) {
		i := slices.IndexFunc(pd.Contacts, func(q contactJSON) bool { return q.ID == c.ID })
		if i < 0 {
			pd.Contacts = append(pd.Contacts, c.json())
			return
		}
		pd.Contacts[i] = c.json()
	})
}

// RenameContact changes the name the user gave a contact.
func (v *Vault) RenameContact(id, name string) error {
	c, ok := v.Contact(id)
	if !ok {
		return ErrNoContact
	}
	if strings.TrimSpace(name) == "" {
		return errors.New("history: a contact needs a name")
	}
	c.Name = name
	return v.SaveContact(c)
}

// DeleteContact forgets a contact. Its past conversations stay in the history.
func (v *Vault) DeleteContact(id string) error {
	if _, ok := v.Contact(id); !ok {
		return ErrNoContact
	}
	return v.updateProfile(func(pd *profileData) {
		pd.Contacts = slices.DeleteFunc(pd.Contacts, func(q contactJSON) bool { return q.ID == id })
	})
}

// AddContactAddr puts addr first in a contact's addresses.
func AddContactAddr(c *Contact, addr string) {
	if addr == "" {
		return
	}
	c.Addrs = slices.DeleteFunc(c.Addrs, func(a string) bool { return a == addr })
	c.Addrs = append([]string{addr}, c.Addrs...)
	if len(c.Addrs) > maxContactAddrs {
		c.Addrs = c.Addrs[:maxContactAddrs]
	}
}

func checkContactID(id string) error {
	if len(id) != 64 || strings.ToLower(id) != id {
		return fmt.Errorf("history: a contact id is 64 lower-case hex digits, got %q", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return fmt.Errorf("history: a contact id is 64 lower-case hex digits, got %q", id)
	}
	return nil
}

// maxInvites bounds the invites a profile keeps; the oldest go first.
const maxInvites = 64

// keepExpired is how long an expired invite is remembered, so that an
// invitee who uses it late is told it expired rather than that it is unknown.
const keepExpired = 30 * 24 * time.Hour

// AddInvite remembers an invitation this profile made.
func (v *Vault) AddInvite(inv Invite) error {
	if len(inv.Secret) < 16 {
		return errors.New("history: an invite secret is at least 16 bytes")
	}
	if inv.Uses < 1 {
		return errors.New("history: an invite admits at least one contact")
	}
	return v.updateProfile(func(pd *profileData) {
		pd.Invites = append(pd.Invites, inviteJSON(inv))
		pd.Invites = pruneInvites(pd.Invites, inv.Created)
	})
}

func pruneInvites(in []inviteJSON, now time.Time) []inviteJSON {
	in = slices.DeleteFunc(in, func(i inviteJSON) bool { return now.Sub(i.Expires) > keepExpired })
	if len(in) > maxInvites {
		in = in[len(in)-maxInvites:]
	}
	return in
}

// Invites returns the invitations this profile made and still remembers,
// used up and expired ones included.
func (v *Vault) Invites() []Invite {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Invite, 0, len(v.prof.Invites))
	for _, i := range v.prof.Invites {
		i.Secret = slices.Clone(i.Secret)
		out = append(out, Invite(i))
	}
	return out
}

// ErrInviteUsed and ErrInviteExpired are returned by [Vault.UseInvite].
var (
	ErrInviteUsed    = errors.New("history: the invite was already used")
	ErrInviteExpired = errors.New("history: the invite has expired")
)

// UseInvite counts one use of the invite with that id, durably, and
// refuses an invite that is used up or expired at now.
func (v *Vault) UseInvite(id string, now time.Time) error {
	var result error = ErrNoInvite
	err := v.updateProfile(func(pd *profileData) {
		for k := range pd.Invites {
			inv := &pd.Invites[k]
			if Invite(*inv).ID() != id {
				continue
			}
			switch {
			case !now.Before(inv.Expires):
				result = ErrInviteExpired
			case inv.Used >= inv.Uses:
				result = ErrInviteUsed
			default:
				inv.Used++
				result = nil
			}
			return
		}
	})
	if err != nil {
		return err
	}
	return result
}

// CancelInvite forgets an invite, so that nobody can use it any more.
func (v *Vault) CancelInvite(id string) error {
	found := false
	err := v.updateProfile(func(pd *profileData) {
		pd.Invites = slices.DeleteFunc(pd.Invites, func(i inviteJSON) bool {
			if Invite(i).ID() == id {
				found = true
				return true
			}
			return false
		})
	})
	if err == nil && !found {
		return ErrNoInvite
	}
	return err
}

// ErrNoInvite is returned for an invite id the profile does not have.
var ErrNoInvite = errors.New("history: no such invite")

// Settings returns the profile's settings.
func (v *Vault) Settings() Settings {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return Settings(v.prof.Settings)
}

// SaveSettings replaces the profile's settings.
func (v *Vault) SaveSettings(s Settings) error {
	return v.updateProfile(func(pd *profileData) { pd.Settings = settingsJSON(s) })
}

// MakeInvite makes an invite to this profile's key at hosts:port, valid for
// expires and for uses first contacts, and remembers its secret. The
// invite's code is what the user gives the invitee.
func (v *Vault) MakeInvite(hosts []string, port uint16, expires time.Duration, uses int) (*invite.Invite, error) {
	var fp [32]byte
	raw, err := hex.DecodeString(v.ident.Public().Fingerprint())
	if err != nil || len(raw) != len(fp) {
		return nil, errors.New("history: the profile's key has no fingerprint")
	}
	copy(fp[:], raw)
	now := time.Now()
	inv, err := invite.New(fp, hosts, port, now.Add(expires), rand.Reader)
	if err != nil {
		return nil, err
	}
	inv.Name = v.Name()
	if err := v.AddInvite(Invite{Secret: inv.Secret[:], Created: now, Expires: inv.Expires, Uses: uses}); err != nil {
		return nil, err
	}
	return inv, nil
}
