//go:build windows

package tor

import (
	"os"
	"path/filepath"
	"syscall"
)

// createNoWindow is CREATE_NO_WINDOW (winbase.h): the console program tor.exe
// gets no console window of its own.
const createNoWindow = 0x08000000

// sysProcAttr keeps tor.exe from opening a console window.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}

// exeName is the name of the tor program.
const exeName = "tor.exe"

// isExecutable reports whether fi is a file (Windows has no execute bit).
func isExecutable(fi os.FileInfo) bool { return fi.Mode().IsRegular() }

// usualPlaces are where tor is installed when it is not on PATH: the Tor
// Expert Bundle under Program Files, and the Tor Browser on the Desktop.
func usualPlaces() []string {
	var places []string
	if pf := os.Getenv("ProgramFiles"); pf != "" {
		places = append(places, filepath.Join(pf, "Tor", "tor.exe"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		places = append(places, filepath.Join(home, "Desktop", "Tor Browser", "Browser", "TorBrowser", "Tor", "tor.exe"))
	}
	return places
}
