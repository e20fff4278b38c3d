// Package cli is SecureChat's terminal front end: host, connect, history and
// passwd, driving the same session controller and vault as the desktop app.
package cli

import (
	"fmt"
	"os"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, version string) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Println("securechat", version)
		return 0
	}
	fmt.Fprintln(os.Stderr, "usage: securechat [host|connect|history|passwd] ...")
	return 2
}
