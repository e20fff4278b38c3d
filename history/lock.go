package history

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockProfile opens the profile's lock file and locks it exclusively without
// waiting: [ErrProfileInUse] if another process, or another [Vault] in this
// one, holds it. The lock belongs to the open file, so closing it unlocks.
func lockProfile(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: failed to open lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func unlockProfile(f *os.File) {
	unlockFile(f)
	f.Close()
}

// withLock runs fn with the profile locked and keeps the lock only if fn
// returns a vault.
func withLock(dir string, fn func(lock *os.File) (*Vault, error)) (*Vault, error) {
	lock, err := lockProfile(dir)
	if err != nil {
		return nil, err
	}
	v, err := fn(lock)
	if err != nil {
		unlockProfile(lock)
		return nil, err
	}
	return v, nil
}
