package profile

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the vectors in testdata/")

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// sample is the profile the vector testdata/profile-v5.json encodes; the
// version 4 vector is the same without the automatic acceptance of
// pictures, the version 3 one without Tor mode either.
func sample() *Profile {
	return &Profile{
		Name: "Alice", Identity: []byte{0x30, 0x82, 0x01}, FileID: []byte("0123456789abcdef"),
		Contacts: []Contact{{
			ID: strings.Repeat("ab", 32), Key: []byte{1, 2, 3}, Name: "Bob", TheirName: "Robert",
			Addrs: []string{"192.0.2.7:32202"}, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Verified: true, Invited: true,
		}},
		Invites: []Invite{{Secret: []byte("sixteen byte sec"), Created: t0, Expires: t0.Add(7 * 24 * time.Hour), Uses: 1}},
		Settings: Settings{OnlyContacts: true, ListenPort: 4242, Tor: true, TorOnly: true, TorPath: "/usr/local/bin/tor",
			AutoAcceptPictures: true},
		Recent:   []string{"192.0.2.7:32202"},
		Read:     map[string]int{strings.Repeat("ab", 32): 4},
		OnionKey: []byte("0123456789abcdef0123456789abcdef"),
	}
}

// sampleV4 is what the vector testdata/profile-v4.json holds: sample
// without the automatic acceptance of pictures.
func sampleV4() *Profile {
	p := sample()
	p.Settings.AutoAcceptPictures = false
	return p
}

// sampleV3 is what the vector testdata/profile-v3.json holds: sampleV4
// without Tor mode.
func sampleV3() *Profile {
	p := sampleV4()
	p.Settings.Tor, p.Settings.TorOnly, p.Settings.TorPath = false, false, ""
	p.OnionKey = nil
	return p
}

// TestVector_Version5 replays the encoding byte for byte, both ways.
func TestVector_Version5(t *testing.T) {
	path := filepath.Join("testdata", "profile-v5.json")
	b, err := sample().Marshal()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(want)), string(b), "the encoding changed: a stored profile would no longer read the same")
	p, err := Parse(want)
	require.NoError(t, err)
	assert.Equal(t, sample(), p)
}

// TestVector_Version4 reads what the version 4 code wrote: the same
// profile that asks about every file, written as version 5 next time.
func TestVector_Version4(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "profile-v4.json"))
	require.NoError(t, err)
	p, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, sampleV4(), p)
	out, err := p.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"version":5`)
	assert.NotContains(t, string(out), `"auto_accept_pictures"`, "off is left out")
}

// TestVector_Version3 reads what the version 3 code wrote: the same
// profile without Tor mode, written as version 5 next time.
func TestVector_Version3(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "profile-v3.json"))
	require.NoError(t, err)
	p, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, sampleV3(), p)
	out, err := p.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"version":5`)
}

// TestParse_OnionKeyOfTheWrongSizeIsDamage: a seed that is not 32 bytes
// cannot be an onion key; the profile is refused rather than a new key
// made (which would change the onion address contacts know).
func TestParse_OnionKeyOfTheWrongSizeIsDamage(t *testing.T) {
	for _, n := range []int{1, 31, 33, 64} {
		p := sample()
		p.OnionKey = make([]byte, n)
		b, err := p.Marshal()
		require.NoError(t, err)
		_, err = Parse(b)
		assert.ErrorIs(t, err, ErrDamaged, "%d bytes", n)
	}
}

// TestVector_Version2HasNoReadMarks reads what the version 2 code wrote:
// the same contacts, and a flag that its history counts as read.
func TestVector_Version2HasNoReadMarks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "profile-v2.json"))
	require.NoError(t, err)
	p, err := Parse(b)
	require.NoError(t, err)
	assert.True(t, p.NoReadMarks)
	want := sampleV3()
	want.Read = nil
	p.NoReadMarks = false
	assert.Equal(t, want, p)
}

// TestVector_Version1PinsBecomeContacts reads what the version 1 code wrote.
func TestVector_Version1PinsBecomeContacts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "profile-v1.json"))
	require.NoError(t, err)
	p, err := Parse(b)
	require.NoError(t, err)
	require.Len(t, p.Contacts, 2)
	bob := p.Contacts[0]
	assert.Equal(t, strings.Repeat("1", 64), bob.ID, "the id is the pin's fingerprint, lower-cased")
	assert.Equal(t, "Bob", bob.Name)
	assert.Equal(t, "Bob", bob.TheirName)
	assert.True(t, bob.Verified)
	assert.Equal(t, t0, bob.FirstSeen.UTC())
	assert.False(t, p.Contacts[1].Verified)
	out, err := p.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"version":5`)
	assert.NotContains(t, string(out), `"pins"`)
}

func TestParse_RefusesDamageAndNewerVersionsWithoutEchoingTheBytes(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      `{"name":"Alice","identity":"c2VjcmV0`,
		"wrong types":   `{"name":42}`,
		"bad base64":    `{"identity":"!!!"}`,
		"contacts type": `{"contacts":{"id":"x"}}`,
	} {
		_, err := Parse([]byte(in))
		assert.ErrorIs(t, err, ErrDamaged, name)
	}
	_, err := Parse([]byte(`{"version":6,"name":"Alice","identity":"c2VjcmV0"}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer SecureChat")
	assert.NotContains(t, err.Error(), "c2VjcmV0")
}

func TestSettings_ListenRoundTrips(t *testing.T) {
	p := sample()
	p.Settings.Listen = true
	b, err := p.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"listen":true`)
	q, err := Parse(b)
	require.NoError(t, err)
	assert.True(t, q.Settings.Listen)
}

func TestContacts_SaveRenameDeleteByKey(t *testing.T) {
	p := &Profile{}
	id := strings.Repeat("cd", 32)
	require.NoError(t, p.SaveContact(Contact{ID: id, Name: "carol"}))
	require.NoError(t, p.SaveContact(Contact{ID: strings.Repeat("ab", 32), Name: "Bob"}))
	assert.Equal(t, []string{"Bob", "carol"}, contactNames(p.SortedContacts()), "ordered by name, case aside")
	require.NoError(t, p.RenameContact(id, "Carol W."))
	c, ok := p.Contact(id)
	require.True(t, ok)
	assert.Equal(t, "Carol W.", c.Name)
	require.NoError(t, p.DeleteContact(id))
	_, ok = p.Contact(id)
	assert.False(t, ok)
	assert.ErrorIs(t, p.DeleteContact(id), ErrNoContact)
	assert.ErrorIs(t, p.RenameContact(id, "x"), ErrNoContact)
	assert.Error(t, p.SaveContact(Contact{ID: "Bob", Name: "Bob"}), "a name is not an id")
	assert.Error(t, p.SaveContact(Contact{ID: strings.Repeat("AB", 32), Name: "Bob"}), "ids are lower case")
	assert.Error(t, p.SaveContact(Contact{ID: id, Name: "  "}), "a contact needs a name")
}

func contactNames(cs []Contact) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestContact_AddrsNewestFirstBounded(t *testing.T) {
	var c Contact
	for i := range MaxContactAddrs + 3 {
		c.AddAddr(strings.Repeat("a", i+1) + ":1")
	}
	c.AddAddr("aa:1")
	assert.Len(t, c.Addrs, MaxContactAddrs)
	assert.Equal(t, "aa:1", c.Addrs[0])
	c.AddAddr("")
	assert.Equal(t, "aa:1", c.Addrs[0], "an empty address is not remembered")
}

func TestClone_SharesNothing(t *testing.T) {
	p := sample()
	q := p.Clone()
	q.Contacts[0].Addrs[0] = "changed"
	q.Contacts[0].Key[0] = 9
	q.Invites[0].Secret[0] = 'X'
	q.Recent[0] = "changed"
	q.Identity[0] = 0
	assert.Equal(t, sample(), p)
}

func TestInvites_UseExpireCancelAndPrune(t *testing.T) {
	p := &Profile{}
	inv := Invite{Secret: []byte("sixteen byte sec"), Created: t0, Expires: t0.Add(time.Hour), Uses: 1}
	require.NoError(t, p.AddInvite(inv))
	assert.ErrorIs(t, p.UseInvite(inv.ID(), t0.Add(2*time.Hour)), ErrInviteExpired)
	require.NoError(t, p.UseInvite(inv.ID(), t0))
	assert.ErrorIs(t, p.UseInvite(inv.ID(), t0), ErrInviteUsed)
	assert.ErrorIs(t, p.UseInvite("0011223344556677", t0), ErrNoInvite)
	assert.Error(t, p.AddInvite(Invite{Secret: []byte("short"), Uses: 1}))
	assert.Error(t, p.AddInvite(Invite{Secret: []byte("sixteen byte sec"), Uses: 0}))

	// Long expired invites are forgotten, and at most MaxInvites are kept.
	later := t0.Add(KeepExpired + 2*time.Hour)
	for i := range MaxInvites + 1 {
		s := []byte("another secret 0000")
		s[len(s)-1] = byte(i)
		s[len(s)-2] = byte(i >> 8)
		require.NoError(t, p.AddInvite(Invite{Secret: s, Created: later, Expires: later.Add(time.Hour), Uses: 1}))
	}
	assert.Len(t, p.Invites, MaxInvites)
	assert.ErrorIs(t, p.CancelInvite(inv.ID()), ErrNoInvite, "the expired invite was pruned")
	require.NoError(t, p.CancelInvite(p.Invites[0].ID()))
	assert.Len(t, p.Invites, MaxInvites-1)
}

func TestRecent_NewestFirstBounded(t *testing.T) {
	p := &Profile{}
	for _, a := range []string{"a:1", "b:1", "a:1", ""} {
		p.AddRecentAddr(a)
	}
	assert.Equal(t, []string{"a:1", "b:1"}, p.Recent)
	for i := range MaxRecentAddrs + 2 {
		p.AddRecentAddr(strings.Repeat("x", i+1))
	}
	assert.Len(t, p.Recent, MaxRecentAddrs)
}

// FuzzParse: any bytes either parse to a profile that encodes and parses
// to the same, or give an error; never a panic.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"profile-v1.json", "profile-v2.json", "profile-v3.json", "profile-v4.json", "profile-v5.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"version":2,"contacts":[{"id":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		require.NoError(t, err)
		q, err := Parse(out)
		require.NoError(t, err)
		again, err := q.Marshal()
		require.NoError(t, err)
		assert.Equal(t, string(out), string(again))
	})
}
