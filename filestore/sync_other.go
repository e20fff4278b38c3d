//go:build !windows

package filestore

import (
	"fmt"
	"os"
)

// syncDir makes a rename or a removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("filestore: failed to sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("filestore: failed to sync folder: %w", err)
	}
	return nil
}
