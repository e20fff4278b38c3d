package history

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"path/filepath"
)

// filesInfo derives the key of the files a profile keeps (package
// filestore): sent and received files, encrypted at rest.
const filesInfo = "securechat v1 files"

// FilesDirName is the folder of the profile's files, inside the profile.
const FilesDirName = "files"

// FilesKey returns the master key of the profile's file store
// (filestore.Open), derived from the data key; docs/HISTORY-FORMAT.md,
// "Keys". The caller clears it when done.
func (v *Vault) FilesKey() ([]byte, error) {
	v.mu.RLock()
	dk := v.dataKey
	v.mu.RUnlock()
	k, err := hkdf.Key(sha256.New, dk, nil, filesInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("history: failed to derive the files key: %w", err)
	}
	return k, nil
}

// FilesDir is the folder of the profile's file store.
func (v *Vault) FilesDir() string { return filepath.Join(v.dir, FilesDirName) }
