package ui

import (
	"time"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/session"
)

// Vault is what the desktop app needs of an unlocked profile, and what the
// session needs of it ([session.Store]). *history.Vault provides it; tests
// use an in-memory fake.
type Vault interface {
	session.Store
	// Identity is the profile's key pair, for the session's handshakes.
	Identity() *crypto.Identity
	// Name is the display name the profile was created with.
	Name() string
	// RecentAddrs lists the addresses last connected to, newest first.
	RecentAddrs() []string
	// AddRecentAddr remembers addr for the Connect dialog.
	AddRecentAddr(addr string) error
	// Conversations lists past conversations, newest first.
	Conversations() ([]Summary, error)
	// Load reads one conversation.
	Load(id string) (*Transcript, error)
	// Search finds messages containing text in every conversation.
	Search(text string) ([]Hit, error)
	// Contacts lists the contacts, by name.
	Contacts() []Contact
	// MakeInvite makes an invite to this profile at hosts:port and
	// remembers its secret (a vault write).
	MakeInvite(hosts []string, port uint16, expires time.Duration, uses int) (*invite.Invite, error)
	// Settings and SaveSettings read and write the profile's settings.
	Settings() history.Settings
	SaveSettings(s history.Settings) error
	// Close locks the profile.
	Close() error
}

// The history types the app shows are the vault's own.
type (
	// Summary describes one past conversation.
	Summary = history.Summary
	// StoredMessage is one message of a past conversation.
	StoredMessage = history.StoredMessage
	// Transcript is a whole past conversation.
	Transcript = history.Transcript
	// Hit is one search result.
	Hit = history.Hit
	// Contact is an identity key the user let in, with the name they gave it.
	Contact = history.Contact
)

var (
	// ErrWrongPassphrase is returned by [Backend.Open] when the passphrase
	// does not unlock the profile; the unlock screen lets the user try again.
	ErrWrongPassphrase = history.ErrWrongPassphrase
	// ErrProfileInUse is returned by [Backend.Open] when another SecureChat
	// has the profile open.
	ErrProfileInUse = history.ErrProfileInUse
)

// Backend is everything the desktop app reaches outside Fyne: the profile
// vault and the session controllers. [RealBackend] wires the real ones; tests
// pass fakes.
type Backend struct {
	// ProfileDir returns the profile folder.
	ProfileDir func() (string, error)
	// Exists reports whether a profile was created in dir.
	Exists func(dir string) bool
	// Create makes a new profile (slow: key generation and Argon2id).
	Create func(dir, name string, passphrase []byte) (Vault, error)
	// Open unlocks the profile in dir; it returns an error wrapping
	// [ErrWrongPassphrase] or [ErrProfileInUse] where those apply.
	Open func(dir string, passphrase []byte) (Vault, error)
	// Host listens on listenAddr (":9999") for a partner.
	Host func(v Vault, listenAddr string) (session.Controller, error)
	// Connect dials a target (an address, a contact, an invite) in the
	// background.
	Connect func(v Vault, t session.Target) (session.Controller, error)
	// LocalAddrs lists this machine's addresses a partner could dial.
	LocalAddrs func() []string
}
