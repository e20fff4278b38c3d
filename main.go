// Command securechat is an end-to-end encrypted chat for two people who can
// reach each other over TCP. With no arguments it opens the desktop app;
// `host`, `connect`, `history` and `passwd` run in the terminal.
package main

import (
	"os"

	"github.com/securechat/securechat/cli"
	"github.com/securechat/securechat/ui"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cli.GUI = func(version string) int {
		ui.StartInvite = cli.InviteArg // a clicked securechat: link
		return ui.Run(version)
	}
	os.Exit(cli.Main(os.Args[1:], version))
}
