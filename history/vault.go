// Package history is SecureChat's profile vault: the passphrase-protected
// data key, the identity key and pinned partners at rest, and the encrypted,
// append-only chat history that can be reopened, listed and searched.
//
// A profile is a folder of four files: vault.key (the data key wrapped by a
// key derived from the passphrase with Argon2id), profile.sealed (display
// name, identity key, pinned partners, recent addresses, sealed under the data
// key), history.log (sealed records) and lock. docs/HISTORY-FORMAT.md
// describes every byte.
package history

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/names"
	"github.com/securechat/securechat/profile"
)

var (
	// ErrWrongPassphrase is returned by [Open] and [Vault.ChangePassphrase]
	// when the passphrase does not unwrap the data key.
	ErrWrongPassphrase = errors.New("history: wrong passphrase")
	// ErrProfileInUse is returned by [Open] and [Create] while another
	// process, or another Vault in this one, has the profile open.
	ErrProfileInUse = errors.New("history: profile in use by another SecureChat")
	// ErrNoProfile is returned by [Open] for a folder without a profile.
	ErrNoProfile = errors.New("history: no profile in this folder")
	// ErrProfileExists is returned by [Create] for a folder that has one.
	ErrProfileExists = errors.New("history: a profile already exists in this folder")
	// ErrClosed is returned for writes to a closed vault or an ended conversation.
	ErrClosed = errors.New("history: vault closed or conversation ended")
	// ErrNoConversation is returned by [Vault.Load] for an unknown id.
	ErrNoConversation = errors.New("history: no such conversation")
	// ErrNotDurable is wrapped by the error of a change that took effect (a
	// file of the profile was replaced, and the vault holds the new state)
	// but may not survive a power cut: the folder could not be flushed to
	// disk after the rename. The caller must not report the change as failed.
	ErrNotDurable = errors.New("history: the change is in effect but may not survive a power cut")
)

// File names inside a profile folder.
const (
	keyFileName     = "vault.key"
	profileFileName = "profile.sealed"
	logFileName     = "history.log"
	lockFileName    = "lock"
)

const (
	keyMagic     = "SCVAULT\x01"
	saltSize     = 16
	dataKeySize  = 32
	keyADSize    = len(keyMagic) + 4 + 4 + 1 + saltSize // 33
	keyFileSize  = keyADSize + nonceSize + dataKeySize + tagSize
	profileMagic = "SCPROFL\x01"
	profileInfo  = "securechat v1 profile"
)

// Params are the Argon2id parameters that turn a passphrase into the key that
// wraps the data key. They are stored in vault.key, so they can be raised.
type Params struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams cost about half a second on one core of the development
// laptop (10 passes over 64 MiB took 0.49 s) and 64 MiB of memory.
var DefaultParams = Params{Time: 10, MemoryKiB: 64 * 1024, Threads: 1}

func (p Params) check() error {
	if p.Time < 1 || p.Time > 1000 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return fmt.Errorf("history: unsupported Argon2id parameters t=%d m=%d p=%d", p.Time, p.MemoryKiB, p.Threads)
	}
	return nil
}

// DefaultDir returns the profile folder used when none is given:
// SecureChat inside the user's configuration folder.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("history: no configuration folder: %w", err)
	}
	return filepath.Join(d, "SecureChat"), nil
}

// Exists reports whether dir holds a profile.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, keyFileName))
	return err == nil
}

// Vault is an unlocked profile. Its methods are safe for concurrent use.
type Vault struct {
	dir     string
	lock    *os.File
	dataKey []byte
	params  Params
	profKey cipher.AEAD
	ident   *crypto.Identity
	log     *logWriter
	syncDir func(dir string) error // makes a rename durable: syncDir, or a test's

	closeOnce sync.Once

	pmu    sync.Mutex // serializes profile and key file updates
	closed bool       // guarded by pmu: no file may be written after Close
	// fmu is held (read) while the history file is read at indexed
	// offsets, and (write) while a rewrite replaces the file and moves
	// the offsets. It is taken before mu.
	fmu    sync.RWMutex
	mu     sync.RWMutex
	prof   *profile.Profile // guarded by mu; replaced (never changed in place) under pmu
	idx    *index           // guarded by mu
	keys   *keyring         // the conversation keys, for reading records
	reader *recordReader
	// qmu serializes QueueMessage's check that an id is new; queueing
	// holds the outbox messages (contact NUL id) written but not yet in
	// the index. The committer's callbacks take qmu, holding no lock.
	qmu      sync.Mutex
	queueing map[string]struct{}
}

// hooks let tests watch and break the history file and the folder.
type hooks struct {
	wrapLog func(logFile) logFile
	syncDir func(dir string) error // replaces the fsync of the profile folder
}

func (h hooks) dirSyncer() func(string) error {
	if h.syncDir != nil {
		return h.syncDir
	}
	return syncDir
}

// Create makes a new profile in dir (created if missing) with a fresh
// RSA-3072 identity and [DefaultParams], and returns it unlocked.
func Create(dir, name string, passphrase []byte) (*Vault, error) {
	return CreateWith(dir, name, passphrase, DefaultParams)
}

// CreateWith is [Create] with explicit Argon2id parameters.
func CreateWith(dir, name string, passphrase []byte, p Params) (*Vault, error) {
	return create(dir, name, passphrase, p, nil, hooks{})
}

func create(dir, name string, passphrase []byte, p Params, id *crypto.Identity, h hooks) (*Vault, error) {
	if err := names.Check(name); err != nil {
		return nil, fmt.Errorf("history: the display name cannot be used: %w", err)
	}
	if len(passphrase) == 0 {
		return nil, errors.New("history: empty passphrase")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("history: failed to create profile folder: %w", err)
	}
	return withLock(dir, func(lock *os.File) (*Vault, error) {
		return createLocked(dir, lock, name, passphrase, p, id, h)
	})
}

func createLocked(dir string, lock *os.File, name string, passphrase []byte, p Params, id *crypto.Identity, h hooks) (*Vault, error) {
	if Exists(dir) {
		return nil, ErrProfileExists
	}
	var err error
	if id == nil {
		if id, err = crypto.GenerateIdentity(nil); err != nil {
			return nil, err
		}
	}
	der, err := id.MarshalPrivate()
	if err != nil {
		return nil, err
	}
	v := &Vault{dir: dir, lock: lock, params: p, ident: id, idx: newIndex(), dataKey: make([]byte, dataKeySize), syncDir: h.dirSyncer()}
	var fid fileID
	rand.Read(v.dataKey)
	rand.Read(fid[:])
	v.prof = &profile.Profile{Name: name, Identity: der, FileID: fid[:]}
	if err := v.initProfileKey(); err != nil {
		return nil, err
	}
	// history.log and profile.sealed first: vault.key, written last, is
	// what makes the folder a profile. The folder's flush after vault.key
	// also makes the two renames before it durable: an ErrNotDurable of
	// those is not final.
	hdr := append([]byte(logMagic), fid[:]...)
	if err := writeFileAtomic(dir, logFileName, hdr, v.syncDir); err != nil && !errors.Is(err, ErrNotDurable) {
		return nil, err
	}
	if err := v.saveProfile(v.prof); err != nil && !errors.Is(err, ErrNotDurable) {
		return nil, err
	}
	kf, err := wrapKey(v.dataKey, passphrase, p)
	if err != nil {
		return nil, err
	}
	keyErr := writeFileAtomic(dir, keyFileName, kf, v.syncDir)
	if keyErr != nil && !errors.Is(keyErr, ErrNotDurable) {
		return nil, keyErr
	}
	if err := v.openLog(h); err != nil {
		return nil, err
	}
	if keyErr != nil {
		// The profile exists and is open: failing now would leave a
		// profile the user was told was not created.
		v.idx.notice(keyErr.Error())
	}
	return v, nil
}

// Open unlocks the profile in dir. A wrong passphrase gives
// [ErrWrongPassphrase] and leaves every file as it was.
func Open(dir string, passphrase []byte) (*Vault, error) {
	return open(dir, passphrase, hooks{})
}

func open(dir string, passphrase []byte, h hooks) (*Vault, error) {
	if !Exists(dir) {
		return nil, ErrNoProfile
	}
	return withLock(dir, func(lock *os.File) (*Vault, error) { return openLocked(dir, lock, passphrase, h) })
}

func openLocked(dir string, lock *os.File, passphrase []byte, h hooks) (*Vault, error) {
	kf, err := os.ReadFile(filepath.Join(dir, keyFileName))
	if err != nil {
		return nil, fmt.Errorf("history: failed to read key file: %w", err)
	}
	dataKey, p, err := unwrapKey(kf, passphrase)
	if err != nil {
		return nil, err
	}
	// Argon2id's buffer (64 MiB with DefaultParams) is garbage now. Collect
	// it, so that reading the history reuses that memory rather than adding
	// to it: the pacer would otherwise let the heap grow to twice the
	// buffer before the first collection.
	runtime.GC()
	v := &Vault{dir: dir, lock: lock, params: p, dataKey: dataKey, idx: newIndex(), syncDir: h.dirSyncer()}
	if err := v.initProfileKey(); err != nil {
		return nil, err
	}
	if v.prof, err = v.loadProfile(); err != nil {
		return nil, err
	}
	if v.ident, err = crypto.ParseIdentity(v.prof.Identity); err != nil {
		return nil, fmt.Errorf("history: sealed identity key: %w", err)
	}
	if len(v.prof.FileID) != fileIDSize {
		return nil, errors.New("history: sealed profile lacks the history file id")
	}
	removeStaleTemps(dir)
	if err := v.openLog(h); err != nil {
		return nil, err
	}
	if v.fixReadMarks() {
		if err := v.saveProfile(v.prof); err != nil && !errors.Is(err, ErrNotDurable) {
			v.idx.notice(fmt.Sprintf("the read marks could not be saved yet: %v", err))
		}
	}
	return v, nil
}

// Close flushes pending history records, closes the history file and
// releases the profile.
func (v *Vault) Close() error {
	err := v.log.close()
	v.closeOnce.Do(func() {
		v.pmu.Lock()
		v.closed = true
		v.mu.Lock()
		clear(v.dataKey)
		v.mu.Unlock()
		v.pmu.Unlock()
		unlockProfile(v.lock)
	})
	return err
}

// Name returns the profile's display name.
func (v *Vault) Name() string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.prof.Name
}

// Dir returns the profile folder.
func (v *Vault) Dir() string { return v.dir }

// Identity returns the profile's identity key pair.
func (v *Vault) Identity() *crypto.Identity { return v.ident }

// Params returns the Argon2id parameters in the key file.
func (v *Vault) Params() Params {
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.params
}

// Notices returns what went wrong reading the history, for the user: damaged
// or skipped records, and a new profile that may not survive a power cut.
func (v *Vault) Notices() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.idx.notices)
}

// ChangePassphrase rewraps the data key under a key derived from newPass.
// Nothing else in the profile is rewritten. An error wrapping
// [ErrNotDurable] means that newPass is in effect (oldPass no longer opens
// the profile) but that a power cut may bring oldPass back.
func (v *Vault) ChangePassphrase(oldPass, newPass []byte) error {
	if len(newPass) == 0 {
		return errors.New("history: empty passphrase")
	}
	v.pmu.Lock()
	defer v.pmu.Unlock()
	if v.closed {
		return ErrClosed
	}
	kf, err := os.ReadFile(filepath.Join(v.dir, keyFileName))
	if err != nil {
		return fmt.Errorf("history: failed to read key file: %w", err)
	}
	dataKey, p, err := unwrapKey(kf, oldPass)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(dataKey, v.dataKey) != 1 {
		return ErrWrongPassphrase // a key file from another profile
	}
	kf, err = wrapKey(v.dataKey, newPass, p)
	if err != nil {
		return err
	}
	return writeFileAtomic(v.dir, keyFileName, kf, v.syncDir)
}

// wrapKey returns the content of vault.key for dataKey under passphrase.
func wrapKey(dataKey, passphrase []byte, p Params) ([]byte, error) {
	salt := make([]byte, saltSize)
	rand.Read(salt)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	return wrapKeyWith(dataKey, passphrase, p, salt, nonce)
}

// wrapKeyWith is wrapKey with the salt and nonce given, for test vectors.
func wrapKeyWith(dataKey, passphrase []byte, p Params, salt, nonce []byte) ([]byte, error) {
	b := make([]byte, 0, keyFileSize)
	b = append(b, keyMagic...)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads)
	b = append(b, salt...)
	ad := b[:keyADSize:keyADSize]
	b = append(b, nonce...)
	kek := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	return aead.Seal(b, nonce, dataKey, ad), nil
}

// unwrapKey checks the content of vault.key and returns the data key.
func unwrapKey(kf, passphrase []byte) ([]byte, Params, error) {
	if len(kf) != keyFileSize || string(kf[:len(keyMagic)]) != keyMagic {
		return nil, Params{}, errors.New("history: vault.key is not a SecureChat key file")
	}
	o := len(keyMagic)
	p := Params{
		Time:      binary.BigEndian.Uint32(kf[o:]),
		MemoryKiB: binary.BigEndian.Uint32(kf[o+4:]),
		Threads:   kf[o+8],
	}
	if err := p.check(); err != nil {
		return nil, p, err
	}
	salt := kf[o+9 : keyADSize]
	nonce := kf[keyADSize : keyADSize+nonceSize]
	kek := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer clear(kek)
	aead, err := newGCM(kek)
	if err != nil {
		return nil, p, err
	}
	dataKey, err := aead.Open(nil, nonce, kf[keyADSize+nonceSize:], kf[:keyADSize])
	if err != nil {
		return nil, p, ErrWrongPassphrase
	}
	return dataKey, p, nil
}

func (v *Vault) initProfileKey() error {
	k, err := profileKeyBytes(v.dataKey)
	if err != nil {
		return err
	}
	v.profKey, err = newGCM(k)
	return err
}

// profileKeyBytes is HKDF-SHA256(dataKey, no salt, info "securechat v1 profile").
func profileKeyBytes(dataKey []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, dataKey, nil, profileInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("history: failed to derive profile key: %w", err)
	}
	return k, nil
}

func (v *Vault) loadProfile() (*profile.Profile, error) {
	b, err := os.ReadFile(filepath.Join(v.dir, profileFileName))
	if err != nil {
		return nil, fmt.Errorf("history: failed to read sealed profile: %w", err)
	}
	hdr := len(profileMagic) + nonceSize
	if len(b) < hdr+tagSize || string(b[:len(profileMagic)]) != profileMagic {
		return nil, errors.New("history: profile.sealed is damaged")
	}
	plain, err := v.profKey.Open(nil, b[len(profileMagic):hdr], b[hdr:], b[:len(profileMagic)])
	if err != nil {
		return nil, errors.New("history: profile.sealed is damaged")
	}
	defer clear(plain)
	p, err := profile.Parse(plain)
	if errors.Is(err, profile.ErrDamaged) {
		return nil, errors.New("history: profile.sealed is damaged")
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return p, nil
}

// saveProfile seals p and replaces profile.sealed. The caller holds pmu
// (or is creating the vault).
func (v *Vault) saveProfile(p *profile.Profile) error {
	plain, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer clear(plain)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	return writeFileAtomic(v.dir, profileFileName, sealProfile(v.profKey, nonce, plain), v.syncDir)
}

// sealProfile returns the content of profile.sealed for plain.
func sealProfile(key cipher.AEAD, nonce, plain []byte) []byte {
	b := append([]byte(profileMagic), nonce...)
	return key.Seal(b, nonce, plain, b[:len(profileMagic)])
}

// updateProfile applies change to a copy of the profile, saves it and then
// makes it current; an error from change leaves everything as it was. Once
// the file is replaced the change is current, also when the error wraps
// [ErrNotDurable].
func (v *Vault) updateProfile(change func(p *profile.Profile) error) error {
	v.pmu.Lock()
	defer v.pmu.Unlock()
	if v.closed {
		return ErrClosed
	}
	v.mu.RLock()
	p := v.prof.Clone()
	v.mu.RUnlock()
	if err := change(p); err != nil {
		return err
	}
	err := v.saveProfile(p)
	if err != nil && !errors.Is(err, ErrNotDurable) {
		return err
	}
	v.mu.Lock()
	v.prof = p
	v.mu.Unlock()
	return err
}

// RecentAddrs returns the last addresses dialled, newest first.
func (v *Vault) RecentAddrs() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.prof.Recent)
}

// AddRecentAddr puts addr first in [Vault.RecentAddrs].
func (v *Vault) AddRecentAddr(addr string) error {
	if addr == "" {
		return nil
	}
	return v.updateProfile(func(p *profile.Profile) error {
		p.AddRecentAddr(addr)
		return nil
	})
}

// Conversations returns a summary of every conversation (connection),
// newest first. Outbox streams are not listed: their messages are in the
// contact's [Vault.Thread], and [Vault.Search] finds them.
func (v *Vault) Conversations() ([]Summary, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.DeleteFunc(v.idx.summaries(), func(s Summary) bool { return s.Role == roleOutboxName }), nil
}

// Load returns one conversation. id may be a unique prefix (at least four
// hex digits) of the conversation id. The messages are read from the history
// file.
func (v *Vault) Load(id string) (*Transcript, error) {
	v.fmu.RLock()
	defer v.fmu.RUnlock()
	v.mu.RLock()
	cv, err := v.idx.find(id)
	var snap convSnapshot
	if err == nil {
		snap = cv.snapshot()
	}
	v.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return snap.transcript(v.reader)
}

// Search returns every message whose text contains text, ignoring case, in
// every conversation, newest conversation first. It reads the history file
// a conversation at a time and holds only the messages it finds.
func (v *Vault) Search(text string) ([]Hit, error) {
	q := strings.ToLower(text)
	v.fmu.RLock()
	defer v.fmu.RUnlock()
	v.mu.RLock()
	sums := v.idx.summaries()
	v.mu.RUnlock()
	var hits hitList
	for _, s := range sums {
		v.mu.RLock()
		snap := v.idx.convs[mustConvID(s.ID)].snapshot()
		v.mu.RUnlock()
		if err := snap.search(v.reader, q, &hits); err != nil {
			return nil, err
		}
	}
	return hits.all(), nil
}

// Summary describes one conversation.
type Summary struct {
	ID          string // 32 hex digits
	Partner     string
	Fingerprint string
	Role        string // "host" or "connect"; "outbox" for an outbox stream
	Addr        string
	Start       time.Time
	End         time.Time // zero while running, or if the end was never written
	EndReason   string
	Messages    int
}

// StoredMessage is a message as the history holds it.
type StoredMessage struct {
	ID       string
	Outgoing bool
	Time     time.Time
	Text     string
	// Status is "sending", "delivered" or "failed"; a received message is
	// "delivered". A message of the outbox is "queued", "delivered" or
	// "cancelled".
	Status string
	Reason string // why it failed
}

// Transcript is one conversation with its messages in order.
type Transcript struct {
	Summary
	Messages []StoredMessage
}

// Hit is one message found by [Vault.Search].
type Hit struct {
	Conversation Summary
	Message      StoredMessage
}

// writeFileAtomic replaces dir/name with b: a temporary file, fsync, rename,
// fsync of the folder with syncDir. When only that last step fails, the new
// file is in place and the error wraps [ErrNotDurable].
func writeFileAtomic(dir, name string, b []byte, syncDir func(string) error) error {
	f, err := os.CreateTemp(dir, name+".tmp*")
	if err != nil {
		return fmt.Errorf("history: failed to write %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("history: failed to write %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%w (%s was replaced: %w)", ErrNotDurable, name, err)
	}
	return nil
}
