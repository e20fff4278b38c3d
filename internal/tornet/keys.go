package tornet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// authKeys are an authority's keys: the files of its keys directory and
// the two fingerprints the DirAuthority lines name.
type authKeys struct {
	files    map[string][]byte
	identity string // relay identity (RSA), 40 hex
	v3ident  string // authority identity (tor-gencert's certificate), 40 hex
}

// keyCache keeps the keys made for the i-th authority of a network, so
// that the networks a test process starts after the first skip the
// RSA-3072 key generation (0.5 to 3 s on our machines). Two networks
// sharing authority keys do not meet: each knows its authorities by their
// 127.0.0.1 ports. The certificates last 12 months; a process does not.
var (
	keyCacheMu sync.Mutex
	keyCache   = map[int]*authKeys{}
)

// makeAuthorityKeys gives each authority its keys, all at once: its
// authority identity and signing keys and certificate (tor-gencert), and
// its relay identity (tor --list-fingerprint), both needed in the
// DirAuthority lines before any tor starts. They come from keyCache when
// an earlier network of this process made them.
func makeAuthorityKeys(ctx context.Context, auths []*node, torBin, gencert, defaults string) error {
	errs := make([]error, len(auths))
	var wg sync.WaitGroup
	for i, a := range auths {
		wg.Go(func() {
			keyCacheMu.Lock()
			k := keyCache[i]
			keyCacheMu.Unlock()
			if k != nil {
				errs[i] = a.installKeys(k)
				return
			}
			k, errs[i] = a.makeKeys(ctx, torBin, gencert, defaults)
			if errs[i] == nil {
				keyCacheMu.Lock()
				keyCache[i] = k
				keyCacheMu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("tornet: making the authorities' keys: %w", context.Cause(ctx))
		}
		return err
	}
	return nil
}

// installKeys writes cached keys into a's data directory.
func (a *node) installKeys(k *authKeys) error {
	keys := filepath.Join(a.dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return fmt.Errorf("tornet: %s: %w", a.nick, err)
	}
	for name, b := range k.files {
		if err := os.WriteFile(filepath.Join(keys, name), b, 0o600); err != nil {
			return fmt.Errorf("tornet: %s: %w", a.nick, err)
		}
	}
	a.identity, a.v3ident = k.identity, k.v3ident
	return nil
}

// makeKeys runs tor-gencert and tor --list-fingerprint side by side, and
// returns the keys they made.
func (a *node) makeKeys(ctx context.Context, torBin, gencert, defaults string) (*authKeys, error) {
	keys := filepath.Join(a.dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return nil, fmt.Errorf("tornet: %s: %w", a.nick, err)
	}
	var errGen, errList error
	var wg sync.WaitGroup
	wg.Go(func() { errGen = a.gencert(ctx, gencert) })
	wg.Go(func() { errList = a.listFingerprint(ctx, torBin, defaults) })
	wg.Wait()
	if err := errors.Join(errGen, errList); err != nil {
		return nil, err
	}
	k := &authKeys{files: map[string][]byte{}, identity: a.identity, v3ident: a.v3ident}
	entries, err := os.ReadDir(keys)
	if err != nil {
		return nil, fmt.Errorf("tornet: %s: %w", a.nick, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(keys, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("tornet: %s: %w", a.nick, err)
		}
		k.files[e.Name()] = b
	}
	for _, name := range []string{"authority_certificate", "authority_signing_key", "secret_id_key"} {
		if _, ok := k.files[name]; !ok {
			return nil, fmt.Errorf("tornet: %s: no %s among %v", a.nick, name, slices.Sorted(maps.Keys(k.files)))
		}
	}
	return k, nil
}

// gencert makes the authority's identity and signing keys and its
// certificate. The certificate carries no address (-a): it is optional,
// and without it the keys can serve authorities on other ports.
func (a *node) gencert(ctx context.Context, gencert string) error {
	keys := filepath.Join(a.dir, "keys")
	cert := filepath.Join(keys, "authority_certificate")
	cmd := exec.CommandContext(ctx, gencert, "--create-identity-key", "--passphrase-fd", "0",
		"-i", filepath.Join(keys, "authority_identity_key"),
		"-s", filepath.Join(keys, "authority_signing_key"),
		"-c", cert,
		"-m", "12")
	cmd.Stdin = strings.NewReader("\n") // an empty passphrase
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tornet: %s: tor-gencert: %w: %s", a.nick, err, bounded(out))
	}
	b, err := os.ReadFile(cert)
	if err != nil {
		return fmt.Errorf("tornet: %s: %w", a.nick, err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "fingerprint" && isFingerprint(f[1]) {
			a.v3ident = f[1]
			return nil
		}
	}
	return fmt.Errorf("tornet: %s: no fingerprint in tor-gencert's certificate", a.nick)
}

// listFingerprint makes the authority's relay identity keys and reads
// their fingerprint.
func (a *node) listFingerprint(ctx context.Context, torBin, defaults string) error {
	// --hush, not --quiet: --quiet hides configuration errors.
	cmd := exec.CommandContext(ctx, torBin, "-f", defaults, "--defaults-torrc", defaults, "--hush",
		"--orport", "1", "--datadirectory", a.dir, "--list-fingerprint")
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tornet: %s: tor --list-fingerprint: %w: %s", a.nick, err, bounded(out))
	}
	b, err := os.ReadFile(filepath.Join(a.dir, "fingerprint"))
	if err != nil {
		return fmt.Errorf("tornet: %s: %w", a.nick, err)
	}
	f := strings.Fields(string(b)) // "Unnamed HEX"
	if len(f) != 2 || !isFingerprint(f[1]) {
		return fmt.Errorf("tornet: %s: malformed fingerprint file %s", a.nick, bounded(b))
	}
	a.identity = f[1]
	return nil
}

// isFingerprint reports whether s is 40 upper-case hex digits, as tor
// writes a fingerprint.
func isFingerprint(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
