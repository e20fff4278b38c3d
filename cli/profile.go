package cli

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"golang.org/x/term"

	"github.com/securechat/securechat/history"
)

// Environment variables that carry passphrases for scripts.
const (
	EnvPassphrase    = "SECURECHAT_PASSPHRASE"
	EnvNewPassphrase = "SECURECHAT_NEW_PASSPHRASE"
)

// maxPassphraseTries is how often an interactive prompt asks again after a
// wrong passphrase.
const maxPassphraseTries = 3

// ProfileOptions say which profile to open and how to get its passphrase:
// from PassphraseFile, else the SECURECHAT_PASSPHRASE environment variable,
// else a no-echo prompt when Stdin is a terminal.
type ProfileOptions struct {
	Dir            string // --profile; empty means history.DefaultDir()
	PassphraseFile string // --passphrase-file
	// Name is the display name of a new profile (--name); empty means the
	// operating system's user name.
	Name string
	// Create makes a new profile when Dir has none (host and connect);
	// otherwise a missing profile is an error (history and passwd).
	Create bool
	Stdin  io.Reader           // nil means os.Stdin
	Stderr io.Writer           // prompts and notices; nil means os.Stderr
	Getenv func(string) string // nil means os.Getenv

	params *history.Params // Argon2id parameters of a new profile; tests make them cheap
	// pipe lets a prompt read a line from a Stdin that is not a terminal
	// (passwd does; host and connect read chat lines from it).
	pipe bool
}

// AddProfileFlags registers --profile and --passphrase-file on fs, the
// flags every command that opens a profile takes.
func AddProfileFlags(fs *flag.FlagSet, o *ProfileOptions) {
	fs.StringVar(&o.Dir, "profile", "", "profile `folder` (default: SecureChat in the user's configuration folder)")
	fs.StringVar(&o.PassphraseFile, "passphrase-file", "", "read the profile passphrase from `file` (or set "+EnvPassphrase+")")
}

// AddNameFlag registers --name, the display name of a new profile, on fs.
func AddNameFlag(fs *flag.FlagSet, o *ProfileOptions) {
	fs.StringVar(&o.Name, "name", "", "display `name` of a new profile (default: your user name)")
}

func (o *ProfileOptions) defaults() {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
}

// OpenProfile unlocks the profile that opts name, or creates it if
// opts.Create allows. Notices about a damaged history go to opts.Stderr.
func OpenProfile(opts ProfileOptions) (*history.Vault, error) {
	v, pass, err := openProfile(&opts, newSecretReader(&opts))
	clear(pass)
	return v, err
}

// openProfile is [OpenProfile], also returning the passphrase that worked.
func openProfile(opts *ProfileOptions, sr *secretReader) (*history.Vault, []byte, error) {
	opts.defaults()
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = history.DefaultDir(); err != nil {
			return nil, nil, err
		}
	}
	if !history.Exists(dir) {
		if !opts.Create {
			return nil, nil, fmt.Errorf("%w: %s (securechat host or connect creates one)", history.ErrNoProfile, dir)
		}
		return createProfile(opts, sr, dir)
	}
	for try := 1; ; try++ {
		pass, err := sr.read(fmt.Sprintf("Passphrase for %s: ", dir), opts.Getenv(EnvPassphrase), opts.PassphraseFile)
		if err != nil {
			return nil, nil, err
		}
		v, err := history.Open(dir, pass)
		if errors.Is(err, history.ErrWrongPassphrase) && sr.interactive && try < maxPassphraseTries {
			clear(pass)
			fmt.Fprintln(opts.Stderr, "Wrong passphrase, try again.")
			continue
		}
		if err != nil {
			clear(pass)
			return nil, nil, err
		}
		printNotices(opts.Stderr, v.Notices())
		return v, pass, nil
	}
}

func createProfile(opts *ProfileOptions, sr *secretReader, dir string) (*history.Vault, []byte, error) {
	name := opts.Name
	if name == "" {
		name = osUserName()
	}
	pass, err := sr.readNew(fmt.Sprintf("New passphrase for the profile in %s: ", dir), opts.Getenv(EnvPassphrase), opts.PassphraseFile)
	if err != nil {
		return nil, nil, err
	}
	p := history.DefaultParams
	if opts.params != nil {
		p = *opts.params
	}
	fmt.Fprintf(opts.Stderr, "Creating a new profile for %q in %s (generating an identity key)...\n", name, dir)
	v, err := history.CreateWith(dir, name, pass, p)
	if err != nil {
		clear(pass)
		return nil, nil, err
	}
	printNotices(opts.Stderr, v.Notices())
	return v, pass, nil
}

// printNotices tells the user what was skipped reading the history, or
// that a new profile may not survive a power cut.
func printNotices(w io.Writer, notices []string) {
	const most = 10
	for i, n := range notices {
		if i == most {
			fmt.Fprintf(w, "warning: history: %d more notices\n", len(notices)-most)
			break
		}
		fmt.Fprintf(w, "warning: history: %s\n", n)
	}
}

// osUserName returns the login name, without a Windows domain.
func osUserName() string {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "me"
	}
	name := u.Username
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// secretReader gets passphrases from a file, an environment variable, a
// terminal or (when allowed) lines of a pipe, in that order.
type secretReader struct {
	in          io.Reader
	out         io.Writer
	pipe        bool
	lines       *bufio.Reader
	interactive bool // the last passphrase came from a terminal prompt
}

func newSecretReader(o *ProfileOptions) *secretReader {
	o.defaults()
	return &secretReader{in: o.Stdin, out: o.Stderr, pipe: o.pipe}
}

// terminalFd returns the descriptor of in if it is a terminal.
func terminalFd(in io.Reader) (int, bool) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// read returns a passphrase from file, else env, else a prompt.
func (s *secretReader) read(prompt, env, file string) ([]byte, error) {
	s.interactive = false
	switch {
	case file != "":
		return readPassphraseFile(file)
	case env != "":
		return []byte(env), nil
	}
	return s.prompt(prompt)
}

// readNew is read for a new passphrase, which must pass
// [history.CheckNewPassphrase]: a prompt asks twice.
func (s *secretReader) readNew(prompt, env, file string) ([]byte, error) {
	pass, err := s.read(prompt, env, file)
	if err != nil {
		return nil, err
	}
	if err := history.CheckNewPassphrase(pass); err != nil {
		clear(pass)
		return nil, err
	}
	if file != "" || env != "" {
		return pass, nil
	}
	again, err := s.prompt("Repeat it: ")
	if err != nil {
		clear(pass)
		return nil, err
	}
	defer clear(again)
	if !bytes.Equal(pass, again) {
		clear(pass)
		return nil, errors.New("the passphrases differ")
	}
	return pass, nil
}

func (s *secretReader) prompt(prompt string) ([]byte, error) {
	if fd, ok := terminalFd(s.in); ok {
		fmt.Fprint(s.out, prompt)
		pass, err := term.ReadPassword(fd)
		fmt.Fprintln(s.out)
		if err != nil {
			return nil, fmt.Errorf("failed to read the passphrase: %w", err)
		}
		if len(pass) == 0 {
			return nil, errors.New("empty passphrase")
		}
		s.interactive = true
		return pass, nil
	}
	if !s.pipe {
		return nil, fmt.Errorf("no passphrase: use --passphrase-file FILE, set %s, or run in a terminal", EnvPassphrase)
	}
	if s.lines == nil {
		s.lines = bufio.NewReader(s.in)
	}
	line, err := s.lines.ReadBytes('\n')
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, errors.New("no passphrase on standard input")
	}
	line = trimNewline(line)
	if len(line) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return line, nil
}

// readPassphraseFile returns the content of a file without one final line
// ending.
func readPassphraseFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("failed to read passphrase file: %w", err)
	}
	b = trimNewline(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", name)
	}
	return b, nil
}

func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

const passwdUsage = `usage: securechat passwd [--profile DIR] [--passphrase-file FILE] [--new-passphrase-file FILE]

Changes the passphrase of a profile. The current passphrase comes from
--passphrase-file, ` + EnvPassphrase + `, a prompt, or the first line of standard input;
the new one from --new-passphrase-file, ` + EnvNewPassphrase + `, or a prompt
(asked twice; on standard input, two more lines).
`

// RunPasswd runs `securechat passwd` (args without "passwd") and returns the
// exit code.
func RunPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("securechat passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, passwdUsage) }
	opts := ProfileOptions{Stdin: stdin, Stderr: stderr, pipe: true}
	AddProfileFlags(fs, &opts)
	newFile := fs.String("new-passphrase-file", "", "read the new passphrase from `file` (or set "+EnvNewPassphrase+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	err := changePassphrase(&opts, *newFile)
	switch {
	case errors.Is(err, history.ErrNotDurable):
		fmt.Fprintln(stdout, "Passphrase changed: the new passphrase is in effect and the old one no longer opens the profile.")
		fmt.Fprintln(stderr, "warning: the profile folder could not be flushed to disk: if the computer loses power soon, the old passphrase may be the one in effect again.")
		fmt.Fprintln(stderr, "warning:", err)
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "securechat:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Passphrase changed.")
	return 0
}

// vaultChangePassphrase is [history.Vault.ChangePassphrase]; tests replace it
// to inject a failure.
var vaultChangePassphrase = (*history.Vault).ChangePassphrase

func changePassphrase(opts *ProfileOptions, newFile string) error {
	sr := newSecretReader(opts)
	v, old, err := openProfile(opts, sr)
	if err != nil {
		return err
	}
	defer clear(old)
	defer v.Close()
	pass, err := sr.readNew("New passphrase: ", opts.Getenv(EnvNewPassphrase), newFile)
	if err != nil {
		return err
	}
	defer clear(pass)
	return vaultChangePassphrase(v, old, pass)
}
