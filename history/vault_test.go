package history

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securechat/securechat/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVault_ReopenRestoresNameIdentityContactsAndRecentAddrs(t *testing.T) {
	v, dir := newVault(t, hooks{})
	bob := profile.Contact{ID: strings.Repeat("ab", 32), Key: []byte{1, 2, 3}, Name: "Bob", TheirName: "Robert",
		Addrs: []string{"192.0.2.7:9999"}, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Verified: true, Invited: true}
	require.NoError(t, v.SaveContact(bob))
	require.NoError(t, v.AddRecentAddr("192.0.2.7:9999"))
	require.NoError(t, v.AddRecentAddr("198.51.100.1:9999"))
	require.NoError(t, v.SaveSettings(profile.Settings{OnlyContacts: true, ListenPort: 4242}))
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	assert.Equal(t, "Alice Liddell", v.Name())
	assert.Equal(t, dir, v.Dir())
	assert.Equal(t, testParams, v.Params())
	assert.Equal(t, testIdentity(t).Public().Fingerprint(), v.Identity().Public().Fingerprint())
	got, ok := v.Contact(bob.ID)
	require.True(t, ok)
	assert.True(t, got.FirstSeen.Equal(t0))
	assert.True(t, got.LastSeen.Equal(bob.LastSeen))
	got.FirstSeen, got.LastSeen = bob.FirstSeen, bob.LastSeen
	assert.Equal(t, bob, got)
	_, ok = v.Contact(strings.Repeat("cd", 32))
	assert.False(t, ok)
	assert.Equal(t, profile.Settings{OnlyContacts: true, ListenPort: 4242}, v.Settings())
	assert.Equal(t, []string{"198.51.100.1:9999", "192.0.2.7:9999"}, v.RecentAddrs())
}

func TestVault_ContactsAreKeyedByKeyNotByName(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	a := profile.Contact{ID: strings.Repeat("aa", 32), Name: "Bob", TheirName: "Bob", FirstSeen: t0}
	b := profile.Contact{ID: strings.Repeat("bb", 32), Name: "Bob", TheirName: "Bob", FirstSeen: t0}
	require.NoError(t, v.SaveContact(a))
	require.NoError(t, v.SaveContact(b))
	assert.Len(t, v.Contacts(), 2, "two keys under one name are two contacts")
	a.Verified = true
	require.NoError(t, v.SaveContact(a))
	got, _ := v.Contact(a.ID)
	assert.True(t, got.Verified, "saving again replaces the contact of that key")
	other, _ := v.Contact(b.ID)
	assert.False(t, other.Verified, "and leaves the other one alone")
	require.NoError(t, v.RenameContact(b.ID, "Bob at work"))
	got, _ = v.Contact(b.ID)
	assert.Equal(t, "Bob at work", got.Name)
	require.NoError(t, v.DeleteContact(a.ID))
	assert.Len(t, v.Contacts(), 1)
	assert.ErrorIs(t, v.DeleteContact(a.ID), profile.ErrNoContact)
	assert.Error(t, v.SaveContact(profile.Contact{ID: "not-a-fingerprint", Name: "x"}))
	assert.Error(t, v.SaveContact(profile.Contact{ID: strings.Repeat("AB", 32), Name: "x"}), "upper-case ids would make two ids for one key")
}

func TestVault_InvitesAreCountedAndExpire(t *testing.T) {
	v, dir := newVault(t, hooks{})
	once := profile.Invite{Secret: bytes.Repeat([]byte{1}, 16), Created: t0, Expires: t0.Add(7 * 24 * time.Hour), Uses: 1}
	twice := profile.Invite{Secret: bytes.Repeat([]byte{2}, 16), Created: t0, Expires: t0.Add(time.Hour), Uses: 2}
	require.NoError(t, v.AddInvite(once))
	require.NoError(t, v.AddInvite(twice))
	require.NoError(t, v.UseInvite(once.ID(), t0.Add(time.Minute)))
	assert.ErrorIs(t, v.UseInvite(once.ID(), t0.Add(time.Minute)), profile.ErrInviteUsed)
	require.NoError(t, v.UseInvite(twice.ID(), t0))
	assert.ErrorIs(t, v.UseInvite(twice.ID(), t0.Add(time.Hour)), profile.ErrInviteExpired, "an invite is dead at its expiry time")
	assert.ErrorIs(t, v.UseInvite("0000000000000000", t0), profile.ErrNoInvite)
	require.NoError(t, v.Close())

	v = reopen(t, dir)
	defer v.Close()
	assert.ErrorIs(t, v.UseInvite(once.ID(), t0.Add(time.Minute)), profile.ErrInviteUsed, "uses survive a restart")
	require.NoError(t, v.CancelInvite(twice.ID()))
	assert.ErrorIs(t, v.UseInvite(twice.ID(), t0), profile.ErrNoInvite)
	assert.Len(t, v.Invites(), 1)
	assert.Error(t, v.AddInvite(profile.Invite{Secret: []byte{1}, Uses: 1}), "a short secret is refused")
}

// The fixture in testdata/profile-v1 was made by the code of commit 254f186
// (profile without a version, partners pinned by display name): Alice, with
// Bob (verified) and Carol pinned and one conversation with Bob.
func TestOpen_VersionOneProfileTurnsItsPinsIntoContacts(t *testing.T) {
	dir := copyProfile(t, filepath.Join("testdata", "profile-v1"))
	v, err := Open(dir, []byte("fixture passphrase"))
	require.NoError(t, err)
	contacts := v.Contacts()
	require.Len(t, contacts, 2)
	bob, carol := contacts[0], contacts[1]
	assert.Equal(t, strings.Repeat("1", 64), bob.ID)
	assert.Equal(t, "Bob", bob.Name)
	assert.Equal(t, "Bob", bob.TheirName)
	assert.True(t, bob.Verified, "a verified pin stays verified")
	assert.Equal(t, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), bob.FirstSeen.UTC())
	assert.Equal(t, strings.Repeat("2", 64), carol.ID)
	assert.Equal(t, "Carol", carol.Name)
	assert.False(t, carol.Verified)
	assert.Equal(t, []string{"192.0.2.7:9999"}, v.RecentAddrs())
	convs, err := v.Conversations()
	require.NoError(t, err)
	require.Len(t, convs, 1)
	tr, err := v.Load(convs[0].ID)
	require.NoError(t, err)
	require.Len(t, tr.Messages, 1)
	assert.Equal(t, "hello Bob", tr.Messages[0].Text)
	assert.Equal(t, "delivered", tr.Messages[0].Status)

	// The migration is written with the next change and survives a reopen.
	require.NoError(t, v.AddRecentAddr("198.51.100.1:9999"))
	require.NoError(t, v.Close())
	v = reopen2(t, dir, "fixture passphrase")
	defer v.Close()
	assert.Len(t, v.Contacts(), 2)
	plain := sealedProfileJSON(t, v)
	assert.Contains(t, plain, `"version":5`)
	assert.NotContains(t, plain, `"pins"`)
}

// sealedProfileJSON opens profile.sealed as it is on disk.
func sealedProfileJSON(t testing.TB, v *Vault) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.dir, profileFileName))
	require.NoError(t, err)
	hdr := len(profileMagic) + nonceSize
	plain, err := v.profKey.Open(nil, b[len(profileMagic):hdr], b[hdr:], b[:len(profileMagic)])
	require.NoError(t, err)
	return string(plain)
}

func reopen2(t testing.TB, dir, pass string) *Vault {
	t.Helper()
	v, err := Open(dir, []byte(pass))
	require.NoError(t, err)
	return v
}

func TestVault_RecentAddrsAreNewestFirstWithoutDuplicatesAndBounded(t *testing.T) {
	v, _ := newVault(t, hooks{})
	defer v.Close()
	for _, a := range []string{"a:1", "b:1", "a:1"} {
		require.NoError(t, v.AddRecentAddr(a))
	}
	assert.Equal(t, []string{"a:1", "b:1"}, v.RecentAddrs())
	for i := range 20 {
		require.NoError(t, v.AddRecentAddr(strings.Repeat("x", i+1)))
	}
	assert.Len(t, v.RecentAddrs(), profile.MaxRecentAddrs)
	assert.Equal(t, strings.Repeat("x", 20), v.RecentAddrs()[0])
}

func TestVault_WritesAfterCloseAreRefused(t *testing.T) {
	v, dir := newVault(t, hooks{})
	require.NoError(t, v.Close())
	before := hashFiles(t, dir)
	require.ErrorIs(t, v.SaveContact(profile.Contact{ID: strings.Repeat("ab", 32), Name: "Bob"}), ErrClosed)
	require.ErrorIs(t, v.AddRecentAddr("a:1"), ErrClosed)
	require.ErrorIs(t, v.ChangePassphrase(testPass, []byte("new")), ErrClosed)
	_, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host"})
	require.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, before, hashFiles(t, dir))
	reopen(t, dir)
}

func TestCreate_RefusesAnExistingProfile(t *testing.T) {
	v, dir := newVault(t, hooks{})
	require.NoError(t, v.Close())
	_, err := create(dir, "Eve", testPass, testParams, testIdentity(t), hooks{})
	require.ErrorIs(t, err, ErrProfileExists)
}

func TestCreate_RefusesEmptyPassphraseNameAndBadParams(t *testing.T) {
	for _, tc := range []struct {
		name, display string
		pass          []byte
		p             Params
	}{
		{"empty passphrase", "Alice", nil, testParams},
		{"empty name", "", testPass, testParams},
		{"only whitespace", "   ", testPass, testParams},
		{"zero-width space", "Bob\u200b", testPass, testParams},
		{"right-to-left override", "Bob\u202e", testPass, testParams},
		{"control character", "Bob\x1b[2J", testPass, testParams},
		{"65 bytes", strings.Repeat("a", 65), testPass, testParams},
		{"zero passes", "Alice", testPass, Params{Time: 0, MemoryKiB: 64, Threads: 1}},
		{"zero threads", "Alice", testPass, Params{Time: 1, MemoryKiB: 64, Threads: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			_, err := create(dir, tc.display, tc.pass, tc.p, testIdentity(t), hooks{})
			require.Error(t, err)
			assert.False(t, Exists(dir))
		})
	}
}

func TestOpen_MissingProfileIsErrNoProfile(t *testing.T) {
	_, err := Open(t.TempDir(), testPass)
	require.ErrorIs(t, err, ErrNoProfile)
	assert.False(t, Exists(t.TempDir()))
}

func TestOpen_WrongPassphraseIsRefusedAndChangesNothing(t *testing.T) {
	v, dir := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "host", Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, true, "hello"))
	require.NoError(t, v.Close())
	before := hashFiles(t, dir)

	for _, pass := range [][]byte{[]byte("guessed secret"), nil, append(testPass, '!')} {
		_, err := Open(dir, pass)
		require.ErrorIs(t, err, ErrWrongPassphrase)
		assert.Contains(t, err.Error(), "wrong passphrase")
		if len(pass) > 0 {
			assert.NotContains(t, err.Error(), string(pass))
		}
	}
	assert.Equal(t, before, hashFiles(t, dir))
	reopen(t, dir) // and the lock was released
}

func TestChangePassphrase_RewrapsOnlyTheKeyFile(t *testing.T) {
	v, dir := newVault(t, hooks{})
	w, err := v.BeginConversation(ConversationMeta{Partner: "Bob", Role: "connect", Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, false, "hi"))
	before := hashFiles(t, dir)

	newPass := []byte("a new passphrase")
	require.ErrorIs(t, v.ChangePassphrase([]byte("not it"), newPass), ErrWrongPassphrase)
	assert.Equal(t, before, hashFiles(t, dir), "a refused change writes nothing")
	require.NoError(t, v.ChangePassphrase(testPass, newPass))
	require.NoError(t, v.Close())

	after := hashFiles(t, dir)
	for name, sum := range before {
		if name == keyFileName {
			assert.NotEqual(t, sum, after[name])
		} else {
			assert.Equal(t, sum, after[name], name)
		}
	}
	_, err = Open(dir, testPass)
	require.ErrorIs(t, err, ErrWrongPassphrase)
	v, err = Open(dir, newPass)
	require.NoError(t, err)
	defer v.Close()
	tr, err := v.Load(w.ID())
	require.NoError(t, err)
	require.Len(t, tr.Messages, 1)
	assert.Equal(t, "hi", tr.Messages[0].Text)
}

func TestProfileFolder_HoldsNothingReadableWithoutThePassphrase(t *testing.T) {
	v, dir := newVault(t, hooks{})
	const (
		partner = "Bob Partnername"
		addr    = "203.0.113.77:9999"
		safety  = "12345 67890 13579 24680"
		text    = "the eagle lands at midnight"
		reason  = "partner vanished quietly"
	)
	fp := strings.Repeat("5e", 32)
	require.NoError(t, v.SaveContact(profile.Contact{ID: fp, Name: partner, TheirName: partner, FirstSeen: t0}))
	require.NoError(t, v.AddRecentAddr(addr))
	w, err := v.BeginConversation(ConversationMeta{Partner: partner, Fingerprint: fp, Role: "connect", Addr: addr, Start: t0})
	require.NoError(t, err)
	appendSync(t, w, msg(1, true, text))
	appendSync(t, w, msg(2, false, safety))
	require.NoError(t, w.AppendStatus(msg(1, true, "").ID, false, reason))
	require.NoError(t, w.End(reason, t0.Add(time.Minute)))
	require.NoError(t, v.Close())

	der, err := testIdentity(t).MarshalPrivate()
	require.NoError(t, err)
	secrets := map[string][]byte{
		"message text":   []byte(text),
		"partner name":   []byte(partner),
		"address":        []byte(addr),
		"safety number":  []byte(safety),
		"fingerprint":    []byte(fp),
		"profile name":   []byte("Alice Liddell"),
		"reason":         []byte(reason),
		"identity key":   der[len(der)/2 : len(der)/2+32],
		"public key":     testIdentity(t).Public().Bytes()[40:72],
		"fingerprint 8":  []byte(fp[:8]),
		"passphrase":     testPass,
		"partner (part)": []byte("Partnername"),
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ents), 4)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		for what, s := range secrets {
			assert.False(t, bytes.Contains(bytes.ToLower(b), bytes.ToLower(s)), "%s found in %s", what, e.Name())
		}
	}
}

func TestOpen_SecondOpenInTheSameProcessIsProfileInUse(t *testing.T) {
	v, dir := newVault(t, hooks{})
	_, err := Open(dir, testPass)
	require.ErrorIs(t, err, ErrProfileInUse)
	assert.Contains(t, err.Error(), "profile in use")
	_, err = create(dir, "Eve", testPass, testParams, testIdentity(t), hooks{})
	require.ErrorIs(t, err, ErrProfileInUse)
	require.NoError(t, v.Close())
	require.NoError(t, v.Close(), "a second Close is harmless")
	reopen(t, dir)
}

// TestHelperOpenProfile is run as a child process by
// TestOpen_SecondProcessIsProfileInUse.
func TestHelperOpenProfile(t *testing.T) {
	dir := os.Getenv("SECURECHAT_TEST_OPEN_DIR")
	if dir == "" {
		t.Skip("only run as a child process")
	}
	v, err := Open(dir, testPass)
	if err != nil {
		os.Stdout.WriteString("open error: " + err.Error() + "\n")
		return
	}
	os.Stdout.WriteString("opened\n")
	v.Close()
}

func TestOpen_SecondProcessIsProfileInUse(t *testing.T) {
	v, dir := newVault(t, hooks{})
	child := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOpenProfile$", "-test.v")
		cmd.Env = append(os.Environ(), "SECURECHAT_TEST_OPEN_DIR="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	assert.Contains(t, child(), "open error: history: profile in use")
	require.NoError(t, v.Close())
	assert.Contains(t, child(), "opened")
}

// failingDirSync is a hook whose folder fsync fails while fail is set.
func failingDirSync(fail *atomic.Bool) hooks {
	return hooks{syncDir: func(dir string) error {
		if fail.Load() {
			return errors.New("injected folder fsync failure")
		}
		return syncDir(dir)
	}}
}

func TestVault_ProfileUpdateAfterAFailedFolderSyncIsInEffect(t *testing.T) {
	var fail atomic.Bool
	v, dir := newVault(t, failingDirSync(&fail))
	fail.Store(true)
	bob := profile.Contact{ID: strings.Repeat("ab", 32), Name: "Bob", FirstSeen: t0}

	err := v.SaveContact(bob)
	require.ErrorIs(t, err, ErrNotDurable)
	assert.ErrorContains(t, err, "injected folder fsync failure")
	err = v.AddRecentAddr("192.0.2.7:9999")
	require.ErrorIs(t, err, ErrNotDurable)

	_, ok := v.Contact(bob.ID)
	assert.True(t, ok, "the vault holds what the disk holds")
	assert.Equal(t, []string{"192.0.2.7:9999"}, v.RecentAddrs())
	require.NoError(t, v.Close())
	v = reopen(t, dir)
	_, ok = v.Contact(bob.ID)
	assert.True(t, ok)
	assert.Equal(t, []string{"192.0.2.7:9999"}, v.RecentAddrs())
}

func TestVault_ProfileUpdateThatFailsBeforeTheRenameChangesNothing(t *testing.T) {
	v, dir := newVault(t, hooks{})
	defer v.Close()
	// a folder in place of profile.sealed: the rename fails, even for root
	sealed := filepath.Join(dir, profileFileName)
	require.NoError(t, os.Remove(sealed))
	require.NoError(t, os.MkdirAll(filepath.Join(sealed, "x"), 0o700))
	err := v.SaveContact(profile.Contact{ID: strings.Repeat("ab", 32), Name: "Bob", FirstSeen: t0})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNotDurable)
	_, ok := v.Contact(strings.Repeat("ab", 32))
	assert.False(t, ok)
}

func TestVault_ChangePassphraseAfterAFailedFolderSyncIsInEffect(t *testing.T) {
	var fail atomic.Bool
	v, dir := newVault(t, failingDirSync(&fail))
	fail.Store(true)
	newPass := []byte("a new passphrase")

	err := v.ChangePassphrase(testPass, newPass)
	require.ErrorIs(t, err, ErrNotDurable)
	require.NoError(t, v.Close())

	_, err = Open(dir, testPass)
	require.ErrorIs(t, err, ErrWrongPassphrase, "the old passphrase no longer opens it")
	v, err = Open(dir, newPass)
	require.NoError(t, err)
	require.NoError(t, v.Close())
}

func TestCreate_AfterAFailedFolderSyncOpensTheProfileWithANotice(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	dir := filepath.Join(t.TempDir(), "profile")
	v, err := create(dir, "Alice Liddell", testPass, testParams, testIdentity(t), failingDirSync(&fail))
	require.NoError(t, err, "the profile exists: reporting failure would be wrong")
	require.Len(t, v.Notices(), 1)
	assert.Contains(t, v.Notices()[0], "power cut")
	require.NoError(t, v.Close())
	reopen(t, dir)
}
