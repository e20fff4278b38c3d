//go:build windows

package transfer

// syncDir does nothing: Windows cannot fsync a folder; NTFS journals renames.
func syncDir(string) error { return nil }
