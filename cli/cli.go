// Package cli is SecureChat's terminal front end: host, connect, send,
// outbox, send-file, files, history and passwd, driving the same session
// controller, vault and transfer engine as the desktop app.
package cli

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  securechat                              open the desktop app
  securechat host [--listen ADDR]         chat with whoever connects, several at once
                                          (default 0.0.0.0:9999); typed lines go to the
                                          partner connected last, /to NAME switches,
                                          /who lists who is connected, /send PATH
                                          offers that partner a file. host and connect
                                          receive files with --accept-files
  securechat connect HOST[:PORT]          connect to a partner (default port 9999)
  securechat connect INVITE               connect with an invite code or securechat: link
  securechat connect --contact NAME       connect to a contact; only its key is accepted
  securechat invite [--uses N] [--expires DURATION]
                                          make an invite for someone to connect to you
  securechat contacts [list|rename NAME NEWNAME|delete NAME]
  securechat send CONTACT TEXT [--wait DURATION]
                                          queue a message for a contact (name or key
                                          fingerprint) and deliver it if the contact can
                                          be reached within the wait (default 30s; 0 only
                                          queues). Exit status: 0 delivered, 3 queued but
                                          not delivered yet (it goes out on the next
                                          connection), 1 error (not queued), 2 usage
  securechat outbox [--json]              list the messages waiting to be delivered
  securechat send-file CONTACT PATH [--wait DURATION]
                                          send a file (1 byte to 4 GiB) to a contact: it
                                          is dialed, and dialed again after a cut, until
                                          it has received the file and checked its SHA-256
                                          (default: no time limit). Run it again to
                                          continue an unfinished transfer. Exit status: 0
                                          done, 3 not done within the wait (it goes on at
                                          the next connection), 1 declined, cancelled or
                                          failed, 2 usage
  securechat files list [CONTACT] [--json]
                                          the files sent and received, with their ids
  securechat files save [CONTACT] ID PATH write a copy of a received file to PATH
  securechat history list|show ID|search TEXT [--json]
  securechat passwd                       change the profile passphrase
  securechat --version

Common flags: --profile DIR, --passphrase-file FILE (or SECURECHAT_PASSPHRASE),
--name NAME, --json, --plaintext (unencrypted demonstration only),
--trust-new-key, --known-only, --accept-lookalike. Run a command with -h
for its flags.
`

// GUI opens the desktop app; main sets it so that this package need not
// import the UI toolkit. Nil means there is no GUI in this build.
var GUI func(version string) int

// InviteArg is an invite link the app was started with (a clicked
// securechat: link), for the GUI to offer; "" when there is none.
var InviteArg string

// Main runs the command line and returns the process exit code.
func Main(args []string, version string) int {
	return run(args, version, os.Stdin, os.Stdout, os.Stderr)
}

func run(args []string, version string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if GUI != nil {
			return GUI(version)
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "securechat", version)
		return 0
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "host", "connect":
		return runChat(args[0], args[1:], stdin, stdout, stderr)
	case "history":
		return RunHistory(args[1:], stdout, stderr)
	case "passwd":
		return RunPasswd(args[1:], stdin, stdout, stderr)
	case "invite":
		return RunInvite(args[1:], stdin, stdout, stderr)
	case "contacts":
		return RunContacts(args[1:], stdin, stdout, stderr)
	case "send":
		return RunSend(args[1:], stdin, stdout, stderr)
	case "outbox":
		return RunOutbox(args[1:], stdin, stdout, stderr)
	case "send-file":
		return RunSendFile(args[1:], stdin, stdout, stderr)
	case "files":
		return RunFiles(args[1:], stdin, stdout, stderr)
	}
	if GUI != nil && looksLikeInvite(args[0]) && len(args) == 1 {
		// A securechat: link clicked in another program opens the app
		// with the invite filled in.
		InviteArg = args[0]
		return GUI(version)
	}
	fmt.Fprintf(stderr, "securechat: unknown command %q\n\n%s", args[0], usage)
	return 2
}
