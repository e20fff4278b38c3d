package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
)

func TestUnlock_WrongPassphraseShowsInlineError(t *testing.T) {
	f := newFixture(t, true)
	s := f.ui.unlock
	require.Equal(t, s.pass, f.win.Canvas().Focused(), "the passphrase field has the focus at start")

	test.Type(f.win.Canvas().Focused(), "wrong guess")
	test.Tap(s.button)

	assert.True(t, s.errLabel.Visible())
	assert.Equal(t, "Wrong passphrase. Try again.", s.errLabel.Text)
	assert.Empty(t, s.pass.Text, "the field is cleared for another try")
	assert.Nil(t, f.ui.main)

	test.Type(f.win.Canvas().Focused(), "correct horse battery")
	s.pass.OnSubmitted(s.pass.Text) // Enter
	assert.NotNil(t, f.ui.main, "the right passphrase unlocks")
}

func TestUnlock_ProfileInUse(t *testing.T) {
	f := newFixture(t, true)
	f.openErr = fmt.Errorf("lock: %w", ErrProfileInUse)
	test.Type(f.ui.unlock.pass, "correct horse battery")
	test.Tap(f.ui.unlock.button)
	assert.Contains(t, f.ui.unlock.errLabel.Text, "already open")
}

func TestUnlock_CreateProfile(t *testing.T) {
	f := newFixture(t, false)
	s := f.ui.unlock
	require.NotNil(t, s.name, "first start asks for a name")

	test.Type(s.name, "Alice")
	test.Type(s.pass, "short")
	assert.Contains(t, s.strength.Text, "Weak")
	test.Tap(s.button)
	assert.Equal(t, "Use a passphrase of at least 8 characters.", s.errLabel.Text)

	s.pass.SetText("correct horse battery staple")
	test.Type(s.pass2, "correct horse battery stapler")
	test.Tap(s.button)
	assert.Equal(t, "The two passphrases differ.", s.errLabel.Text)

	test.Type(s.pass2, "correct horse battery staple")
	test.Tap(s.button)
	require.NotNil(t, f.ui.main)
	assert.Equal(t, "Alice", f.vault.name)
}

func TestPassphraseHint(t *testing.T) {
	for _, tc := range []struct{ pass, want string }{
		{"", ""},
		{"password", "Weak"},
		{"abcdefghijklmn", "Weak"},
		{"correct horse", "Fair"},
		{"correct horse battery staple 9", "Strong"},
	} {
		assert.Contains(t, passphraseHint(tc.pass), tc.want, tc.pass)
	}
}

// The desktop app and the terminal share one rule for new passphrases,
// history.CheckNewPassphrase.
func TestUnlock_CreateProfileUsesTheSharedPassphraseRule(t *testing.T) {
	for _, tc := range []struct {
		name, pass string
		ok         bool
	}{
		{"one character", "x", false},
		{"one short of the minimum", strings.Repeat("x", history.MinPassphraseLen-1), false},
		{"short in characters, long in bytes", strings.Repeat("é", history.MinPassphraseLen-1), false},
		{"the minimum", strings.Repeat("x", history.MinPassphraseLen), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false)
			s := f.ui.unlock
			test.Type(s.name, "Alice")
			s.pass.SetText(tc.pass)
			s.pass2.SetText(tc.pass)
			test.Tap(s.button)
			if !tc.ok {
				assert.Equal(t, fmt.Sprintf("Use a passphrase of at least %d characters.", history.MinPassphraseLen), s.errLabel.Text)
				assert.Nil(t, f.ui.main, "no profile is created")
				return
			}
			assert.Empty(t, s.errLabel.Text)
			require.NotNil(t, f.ui.main)
		})
	}
}

func TestUnlock_CreateProfileRefusesNamesThatCannotChat(t *testing.T) {
	for what, name := range map[string]string{
		"zero-width space":       "Alice\u200b",
		"right-to-left override": "Alice\u202e",
		"over 64 bytes":          strings.Repeat("é", 33),
	} {
		t.Run(what, func(t *testing.T) {
			f := newFixture(t, false)
			s := f.ui.unlock
			s.name.SetText(name)
			s.pass.SetText("correct horse battery staple")
			s.pass2.SetText("correct horse battery staple")
			test.Tap(s.button)
			assert.Contains(t, s.errLabel.Text, "This name cannot be used")
			assert.Nil(t, f.ui.main, "no profile is created")
		})
	}
}
