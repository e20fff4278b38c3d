//go:build tor && !unix

package tornet

import "os"

// processExists reports whether a process with that id exists (on Windows
// FindProcess opens it, and fails once it is gone).
func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
