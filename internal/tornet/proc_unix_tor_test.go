//go:build tor && unix

package tornet

import (
	"errors"
	"syscall"
)

// processExists reports whether a process with that id exists (signal 0
// checks without sending anything).
func processExists(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
