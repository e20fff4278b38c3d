package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/securechat/securechat/history"
)

var cheapParams = history.Params{Time: 1, MemoryKiB: 64, Threads: 1}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newProfile creates a profile with a cheap key derivation and returns its
// folder, closed.
func newProfile(t *testing.T, name, pass string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "profile")
	var stderr bytes.Buffer
	v, err := OpenProfile(ProfileOptions{Dir: dir, Name: name, Create: true, params: &cheapParams,
		Stdin: strings.NewReader(""), Stderr: &stderr, Getenv: env(map[string]string{EnvPassphrase: pass})})
	require.NoError(t, err)
	assert.Contains(t, stderr.String(), "Creating a new profile")
	assert.NotContains(t, stderr.String(), pass)
	require.NoError(t, v.Close())
	return dir
}

func TestOpenProfile_CreatesAProfileNamedAfterTheUserThenUnlocksIt(t *testing.T) {
	dir := newProfile(t, "", "s3cret pass")
	file := passFile(t, "s3cret pass\r") // a line ending of Windows

	for _, tc := range []struct {
		name string
		opts ProfileOptions
		err  error
		msg  string
	}{
		{"passphrase from the environment", ProfileOptions{Getenv: env(map[string]string{EnvPassphrase: "s3cret pass"})}, nil, ""},
		{"passphrase file without its line ending", ProfileOptions{PassphraseFile: file}, nil, ""},
		{"the file wins over the environment", ProfileOptions{PassphraseFile: file, Getenv: env(map[string]string{EnvPassphrase: "other"})}, nil, ""},
		{"wrong passphrase", ProfileOptions{Getenv: env(map[string]string{EnvPassphrase: "guess"})}, history.ErrWrongPassphrase, "wrong passphrase"},
		{"no source and no terminal", ProfileOptions{}, nil, "--passphrase-file"},
		{"missing passphrase file", ProfileOptions{PassphraseFile: filepath.Join(t.TempDir(), "nope")}, nil, "passphrase file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dir = dir
			tc.opts.Stdin = strings.NewReader("s3cret pass\n") // not a terminal: never read
			if tc.opts.Getenv == nil {
				tc.opts.Getenv = env(nil)
			}
			v, err := OpenProfile(tc.opts)
			if tc.err == nil && tc.msg == "" {
				require.NoError(t, err)
				assert.Equal(t, osUserName(), v.Name())
				require.NoError(t, v.Close())
				return
			}
			require.Error(t, err)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestOpenProfile_MissingProfileIsNotCreatedUnlessAsked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	_, err := OpenProfile(ProfileOptions{Dir: dir, Getenv: env(map[string]string{EnvPassphrase: "x"}), Stdin: strings.NewReader("")})
	require.ErrorIs(t, err, history.ErrNoProfile)
	assert.False(t, history.Exists(dir))
}

func TestOpenProfile_NewProfileFromAPipeAsksTwice(t *testing.T) {
	for _, tc := range []struct {
		name, input, err string
	}{
		{"the same twice", "pw number one\npw number one\n", ""},
		{"two different", "pw number one\npw number two\n", "differ"},
		{"empty", "\n\n", "empty passphrase"},
		{"one character", "x\nx\n", "at least 8 characters"},
		{"seven characters", "1234567\n1234567\n", "at least 8 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			opts := ProfileOptions{Dir: dir, Name: "Ann", Create: true, params: &cheapParams, Stdin: strings.NewReader(tc.input),
				Stderr: &bytes.Buffer{}, Getenv: env(nil), pipe: true}
			v, err := OpenProfile(opts)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				assert.False(t, history.Exists(dir))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "Ann", v.Name())
			require.NoError(t, v.Close())
		})
	}
}

func TestOpenProfile_NewProfileNeedsALongEnoughPassphrase(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ProfileOptions
	}{
		{"from the environment", ProfileOptions{Getenv: env(map[string]string{EnvPassphrase: "x"})}},
		{"from a file", ProfileOptions{PassphraseFile: passFile(t, "1234567")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			tc.opts.Dir, tc.opts.Name, tc.opts.Create, tc.opts.params = dir, "Ann", true, &cheapParams
			tc.opts.Stdin, tc.opts.Stderr = strings.NewReader(""), &bytes.Buffer{}
			if tc.opts.Getenv == nil {
				tc.opts.Getenv = env(nil)
			}
			_, err := OpenProfile(tc.opts)
			require.ErrorIs(t, err, history.ErrShortPassphrase)
			assert.ErrorContains(t, err, "at least 8 characters")
			assert.False(t, history.Exists(dir))
		})
	}
}

func TestRunPasswd_ChangesThePassphrase(t *testing.T) {
	// a profile made before the rule, with a short passphrase, still opens
	dir := filepath.Join(t.TempDir(), "profile")
	v, err := history.CreateWith(dir, "Ann", []byte("first"), cheapParams)
	require.NoError(t, err)
	require.NoError(t, v.Close())
	newFile := passFile(t, "third pass")
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		env     map[string]string
		code    int
		newPass string
		stderr  string
	}{
		{"new too short", nil, "first\nsecond\nsecond\n", nil, 1, "first", "at least 8 characters"},
		{"both from standard input", nil, "first\nsecond pass\nsecond pass\n", nil, 0, "second pass", ""},
		{"new from a file", []string{"--new-passphrase-file", newFile}, "", map[string]string{EnvPassphrase: "second pass"}, 0, "third pass", ""},
		{"new from the environment", nil, "", map[string]string{EnvPassphrase: "third pass", EnvNewPassphrase: "fourth pass"}, 0, "fourth pass", ""},
		{"new from the environment too short", nil, "", map[string]string{EnvPassphrase: "fourth pass", EnvNewPassphrase: "fifth"}, 1, "fourth pass", "at least 8 characters"},
		{"wrong current passphrase", nil, "", map[string]string{EnvPassphrase: "third pass", EnvNewPassphrase: "fifth pass"}, 1, "fourth pass", "wrong passphrase"},
		{"new passphrases differ", nil, "fourth pass\nfive pass\nsix pass\n", nil, 1, "fourth pass", "differ"},
		{"stray argument", []string{"now"}, "", nil, 2, "fourth pass", "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{EnvPassphrase, EnvNewPassphrase} {
				t.Setenv(k, tc.env[k])
			}
			var stdout, stderr bytes.Buffer
			code := RunPasswd(append([]string{"--profile", dir}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tc.stderr)
			if code == 0 {
				assert.Contains(t, stdout.String(), "Passphrase changed")
			}
			v, err := history.Open(dir, []byte(tc.newPass))
			require.NoError(t, err)
			require.NoError(t, v.Close())
		})
	}
}

// When the new key file is in place but the folder could not be flushed,
// passwd says that the new passphrase is in effect, as it is.
func TestRunPasswd_NotDurableSaysTheNewPassphraseIsInEffect(t *testing.T) {
	dir := newProfile(t, "Ann", "first pass")
	change := vaultChangePassphrase
	t.Cleanup(func() { vaultChangePassphrase = change })
	vaultChangePassphrase = func(v *history.Vault, old, pass []byte) error {
		if err := change(v, old, pass); err != nil {
			return err
		}
		return fmt.Errorf("%w (vault.key was replaced: injected fsync failure)", history.ErrNotDurable)
	}
	t.Setenv(EnvPassphrase, "first pass")
	t.Setenv(EnvNewPassphrase, "second pass")
	var stdout, stderr bytes.Buffer
	code := RunPasswd([]string{"--profile", dir}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "the new passphrase is in effect")
	assert.Contains(t, stderr.String(), "power")
	assert.NotContains(t, stderr.String(), "securechat: ")

	v, err := history.Open(dir, []byte("second pass"))
	require.NoError(t, err)
	require.NoError(t, v.Close())
}
