package history

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/profile"
)

// The profile's contacts, invites and settings are the profile package's
// (profile.Contact, profile.Invite, profile.Settings and its errors); the
// vault keeps them sealed and changes them one durable step at a time.

// Contacts returns every contact, ordered by name.
func (v *Vault) Contacts() []profile.Contact {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prof.SortedContacts()
}

// Contact returns the contact whose key has fingerprint id.
func (v *Vault) Contact(id string) (profile.Contact, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prof.Contact(id)
}

// SaveContact adds c, or replaces the contact with its id.
func (v *Vault) SaveContact(c profile.Contact) error {
	return v.updateProfile(func(p *profile.Profile) error { return p.SaveContact(c) })
}

// RenameContact changes the name the user gave a contact.
func (v *Vault) RenameContact(id, name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("history: a contact needs a name")
	}
	return v.updateProfile(func(p *profile.Profile) error { return p.RenameContact(id, name) })
}

// DeleteContact forgets a contact. Its past conversations stay in the history.
func (v *Vault) DeleteContact(id string) error {
	return v.updateProfile(func(p *profile.Profile) error { return p.DeleteContact(id) })
}

// AddInvite remembers an invitation this profile made.
func (v *Vault) AddInvite(inv profile.Invite) error {
	return v.updateProfile(func(p *profile.Profile) error { return p.AddInvite(inv) })
}

// Invites returns the invitations this profile made and still remembers,
// used up and expired ones included.
func (v *Vault) Invites() []profile.Invite {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prof.Clone().Invites
}

// UseInvite counts one use of the invite with that id, durably, and
// refuses an invite that is used up or expired at now.
func (v *Vault) UseInvite(id string, now time.Time) error {
	return v.updateProfile(func(p *profile.Profile) error { return p.UseInvite(id, now) })
}

// CancelInvite forgets an invite, so that nobody can use it any more.
func (v *Vault) CancelInvite(id string) error {
	return v.updateProfile(func(p *profile.Profile) error { return p.CancelInvite(id) })
}

// Settings returns the profile's settings.
func (v *Vault) Settings() profile.Settings {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prof.Settings
}

// SaveSettings replaces the profile's settings.
func (v *Vault) SaveSettings(s profile.Settings) error {
	return v.updateProfile(func(p *profile.Profile) error {
		p.Settings = s
		return nil
	})
}

// OnionKey returns the seed of the profile's onion service key (Tor mode),
// making and durably saving one the first time, so that the onion address
// stays the same from then on. The caller clears its copy when done.
func (v *Vault) OnionKey() ([]byte, error) {
	v.mu.RLock()
	k := slices.Clone(v.prof.OnionKey)
	v.mu.RUnlock()
	if len(k) == profile.OnionKeySize {
		return k, nil
	}
	err := v.updateProfile(func(p *profile.Profile) error {
		if len(p.OnionKey) == profile.OnionKeySize {
			return nil // made by a concurrent call
		}
		p.OnionKey = make([]byte, profile.OnionKeySize)
		_, err := rand.Read(p.OnionKey)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotDurable) {
		return nil, fmt.Errorf("history: failed to save the onion key: %w", err)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.prof.OnionKey), nil
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
	if err := v.AddInvite(profile.Invite{Secret: inv.Secret[:], Created: now, Expires: inv.Expires, Uses: uses}); err != nil {
		return nil, err
	}
	return inv, nil
}
