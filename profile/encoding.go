package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Version is the version of the encoding that [Profile.Marshal] writes: 5
// adds the choice to accept pictures from verified contacts; 4 adds Tor mode (its settings and the onion service's key); 3 adds read
// marks per thread; 2 keeps contacts keyed by key; 1 (no version
// field) kept pins keyed by display name, which [Parse] turns into contacts.
const Version = 5

// ErrDamaged is returned by [Parse] for bytes that are not a profile.
var ErrDamaged = errors.New("profile: the profile is damaged")

// profileJSON is the encoding, a JSON object (docs/HISTORY-FORMAT.md).
type profileJSON struct {
	Version  int           `json:"version,omitempty"`
	Name     string        `json:"name"`
	Identity []byte        `json:"identity"` // PKCS #8 DER
	FileID   []byte        `json:"history_file_id"`
	Pins     []pinJSON     `json:"pins,omitempty"` // version 1 only
	Contacts []contactJSON `json:"contacts,omitempty"`
	Invites  []inviteJSON  `json:"invites,omitempty"`
	Settings settingsJSON  `json:"settings"`
	Recent   []string      `json:"recent_addrs"`
	// Read holds the read mark of each thread (version 3).
	Read map[string]int `json:"read,omitempty"`
	// OnionKey is the seed of the onion service's key (version 4).
	OnionKey []byte `json:"onion_key,omitempty"`
}

// pinJSON is a version 1 pin: a display name and the key first seen under it.
type pinJSON struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	FirstSeen   time.Time `json:"first_seen"`
	Verified    bool      `json:"verified"`
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
	OnlyContacts bool   `json:"only_contacts"`
	ListenPort   int    `json:"listen_port,omitempty"`
	Listen       bool   `json:"listen,omitempty"`
	Tor          bool   `json:"tor,omitempty"`
	TorOnly      bool   `json:"tor_only,omitempty"`
	TorPath      string `json:"tor_path,omitempty"`
	// AutoAcceptPictures is version 5's.
	AutoAcceptPictures bool `json:"auto_accept_pictures,omitempty"`
}

// Marshal encodes p. The result holds the identity key: the caller seals
// it and clears it.
func (p *Profile) Marshal() ([]byte, error) {
	pj := profileJSON{
		Version: Version, Name: p.Name, Identity: p.Identity, FileID: p.FileID,
		Settings: settingsJSON(p.Settings), Recent: p.Recent, Read: p.Read,
		OnionKey: p.OnionKey,
	}
	for _, c := range p.Contacts {
		pj.Contacts = append(pj.Contacts, contactJSON(c))
	}
	for _, i := range p.Invites {
		pj.Invites = append(pj.Invites, inviteJSON(i))
	}
	b, err := json.Marshal(pj)
	if err != nil {
		return nil, fmt.Errorf("profile: failed to encode: %w", err)
	}
	return b, nil
}

// Parse decodes a profile that [Profile.Marshal] (or the version 1 code)
// wrote. A version 1 profile's pins become contacts: the pin's display
// name becomes both the contact's name and its own, the pin's fingerprint
// its id; nothing is lost, and the next Marshal writes version 2. Parse
// never returns the input's bytes in an error.
func Parse(b []byte) (*Profile, error) {
	var pj profileJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, ErrDamaged
	}
	if pj.Version > Version {
		return nil, fmt.Errorf("profile: written by a newer SecureChat (profile version %d)", pj.Version)
	}
	p := &Profile{
		Name: pj.Name, Identity: pj.Identity, FileID: pj.FileID,
		Settings: Settings(pj.Settings), Recent: pj.Recent, Read: pj.Read,
		NoReadMarks: pj.Version < 3, OnionKey: pj.OnionKey,
	}
	if len(p.OnionKey) != 0 && len(p.OnionKey) != OnionKeySize {
		return nil, ErrDamaged
	}
	for _, c := range pj.Contacts {
		p.Contacts = append(p.Contacts, Contact(c))
	}
	for _, i := range pj.Invites {
		p.Invites = append(p.Invites, Invite(i))
	}
	if pj.Version < 2 {
		for _, pin := range pj.Pins {
			id := strings.ToLower(pin.Fingerprint)
			if id == "" || slices.ContainsFunc(p.Contacts, func(c Contact) bool { return c.ID == id }) {
				continue
			}
			p.Contacts = append(p.Contacts, Contact{
				ID: id, Name: pin.Name, TheirName: pin.Name,
				FirstSeen: pin.FirstSeen, LastSeen: pin.FirstSeen, Verified: pin.Verified,
			})
		}
	}
	return p, nil
}
