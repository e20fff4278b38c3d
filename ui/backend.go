package ui

import (
	"context"
	"image"
	"io"
	"net"
	"time"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/history"
	"github.com/securechat/securechat/invite"
	"github.com/securechat/securechat/profile"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/tormode"
	"github.com/securechat/securechat/transfer"
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
	// Threads lists every key with history, newest activity first.
	Threads() ([]ThreadSummary, error)
	// Thread reads every message with one key, in the order written.
	Thread(contact string) (*Thread, error)
	// MarkRead marks every message now in a thread as read.
	MarkRead(contact string) error
	// Search finds messages containing text in every thread.
	Search(text string) ([]Hit, error)
	// Contacts lists the contacts, by name.
	Contacts() []Contact
	// RenameContact changes the name the user gave a contact.
	RenameContact(id, name string) error
	// DeleteContactAndHistory forgets a contact and removes every message
	// with its key from disk.
	DeleteContactAndHistory(contact string) error
	// MakeInvite makes an invite to this profile at hosts:port and
	// remembers its secret (a vault write).
	MakeInvite(hosts []string, port uint16, expires time.Duration, uses int) (*invite.Invite, error)
	// OnionKey is the seed of the profile's onion service key (Tor mode),
	// made and saved the first time; the caller clears its copy.
	OnionKey() ([]byte, error)
	// Settings and SaveSettings read and write the profile's settings.
	Settings() profile.Settings
	SaveSettings(s profile.Settings) error
	// FilesDir is the folder of the profile's file store.
	FilesDir() string
	// FilesKey is the file store's key; the caller clears its copy.
	FilesKey() ([]byte, error)
	// Close locks the profile.
	Close() error
}

// The history types the app shows are the vault's own.
type (
	// Summary describes one past conversation (one connection).
	Summary = history.Summary
	// StoredMessage is one saved message.
	StoredMessage = history.StoredMessage
	// ThreadSummary describes the thread of one key: every message of
	// every conversation with it.
	ThreadSummary = history.ThreadSummary
	// ThreadMessage is one message of a thread.
	ThreadMessage = history.ThreadMessage
	// Thread is every message with one key, in order.
	Thread = history.Thread
	// Hit is one search result.
	Hit = history.Hit
	// Contact is an identity key the user let in, with the name they gave it.
	Contact = profile.Contact
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
	// New makes the one controller of the unlocked app: no listener and
	// no link until the app asks for them. files is what Files opened, or
	// nil: the controller then carries no files.
	New func(v Vault, files Files) (session.Controller, error)
	// LocalAddrs lists this machine's addresses a partner could dial.
	LocalAddrs func() []string
	// Tor starts Tor mode for the profile in profileDir with the settings
	// st (the tor program's path) and returns at once; the mode reports
	// how tor's start goes in its status. Nil: this build has no Tor mode.
	Tor func(profileDir string, v Vault, st profile.Settings) (TorMode, error)
	// Files opens the profile's file transfers, before New. Nil: this
	// build has no files (no attach button). An error: the app runs
	// without files and says why once.
	Files func(v Vault) (Files, error)
}

// Files is what the app uses of the file transfer engine
// (*[transfer.Engine] provides it; tests use a fake). Its methods are
// safe to call from any goroutine; the UI calls those that touch the disk
// off the UI goroutine.
type Files interface {
	// SendFile offers the file at path to contact; it returns at once
	// (StatePreparing) and the transfer waits for a connection.
	SendFile(contact, path string) (transfer.Transfer, error)
	// SendReader offers what r holds as a file called name.
	SendReader(contact, name, mediaType string, r io.Reader) (transfer.Transfer, error)
	// Accept and Decline are the user's answer to an incoming offer;
	// Decline after Accept stops it.
	Accept(contact, id string) error
	Decline(contact, id string) error
	// Cancel ends an unfinished transfer in either direction.
	Cancel(contact, id string) error
	// List returns contact's transfers, oldest first.
	List(contact string) []transfer.Transfer
	// Get returns one transfer.
	Get(contact, id string) (transfer.Transfer, bool)
	// Open streams a complete file's plaintext.
	Open(contact, id string) (io.ReadSeekCloser, error)
	// SaveAs writes a plaintext copy of a complete file to path.
	SaveAs(contact, id, path string) error
	// Thumbnail decodes a complete picture scaled to fit maxSide.
	Thumbnail(contact, id string, maxSide int) (image.Image, error)
	// DeleteContact removes every transfer and file of contact.
	DeleteContact(contact string) error
	// Events delivers each transfer's new state or progress; Close
	// closes it.
	Events() <-chan transfer.Event
	// Close stops the transfers; unfinished ones go on at the next start.
	Close() error
}

// TorMode is what the app uses of a running Tor mode; *[tormode.Mode]
// provides it, tests use a fake.
type TorMode interface {
	// Status is where Tor mode is now.
	Status() tormode.Status
	// Watch delivers the status after each change (the latest wins) and
	// is closed by Close.
	Watch() <-chan tormode.Status
	// Dial connects to a .onion address through tor: the session's
	// [session.OnionDialer].
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// Publish makes the onion service forward port to the listener at
	// 127.0.0.1:port, now or once tor is connected; Unpublish takes it down.
	Publish(port int)
	Unpublish()
	// Onion is the profile's onion address ("….onion"), known from the
	// key alone.
	Onion() string
	// Close stops tor and waits for it.
	Close()
}
