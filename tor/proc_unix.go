//go:build unix

package tor

import (
	"os"
	"runtime"
	"syscall"
)

// sysProcAttr puts tor in a process group of its own, so that a Ctrl-C in
// the terminal of the command-line client reaches the client, which then
// closes tor in order, rather than tor first. tor still exits when the
// client dies (TAKEOWNERSHIP, __OwningControllerProcess).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// exeName is the name of the tor program.
const exeName = "tor"

// isExecutable reports whether fi is a file someone may execute.
func isExecutable(fi os.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// usualPlaces are where tor is installed when it is not on PATH.
func usualPlaces() []string {
	places := []string{"/usr/bin/tor", "/usr/sbin/tor", "/usr/local/bin/tor", "/opt/homebrew/bin/tor"}
	if runtime.GOOS == "darwin" {
		places = append(places, "/Applications/Tor Browser.app/Contents/MacOS/Tor/tor")
	}
	return places
}
