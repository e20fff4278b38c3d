package tor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the tor binary to run: path if not empty (it must exist and be
// executable), else "tor" ("tor.exe" on Windows) on PATH, else the usual places
// (/usr/bin/tor, /usr/sbin/tor, /usr/local/bin/tor, /opt/homebrew/bin/tor, the
// Tor Browser's on macOS; on Windows %ProgramFiles%\Tor\tor.exe and the Tor
// Browser's Browser\TorBrowser\Tor\tor.exe under the user's Desktop).
// ErrNotFound if none.
func Find(path string) (string, error) {
	return find(path, exec.LookPath, usualPlaces())
}

func find(path string, lookPath func(string) (string, error), places []string) (string, error) {
	if path != "" {
		if err := checkExecutable(path); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return path, nil
	}
	// exec.ErrDot (tor in the current directory through a relative PATH
	// entry) is not taken.
	if p, err := lookPath(exeName); err == nil {
		return p, nil
	}
	for _, p := range places {
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !isExecutable(fi) {
		return errors.New(path + " is not an executable file")
	}
	return nil
}
