package ui

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/securechat/securechat/session"
)

// The session reports what happened as values (an [session.EndReason], an
// error wrapping a sentinel); this file turns them into sentences for the
// user. The error itself is kept for a "Details" button and never shown
// by default: a Go error chain means nothing to most people.

// endWords says why a link ended, for the user. who is the partner's name
// ("" when the key was never learned), addr the address dialed or the
// caller's, and peer the partner's own words for its goodbye (untrusted:
// shown quoted, and only when there are some).
func endWords(r session.EndReason, who, addr, peer string) string {
	if who == "" {
		who = "Your partner"
	}
	at := addr
	if at == "" {
		at = "that address"
	}
	switch r {
	case session.EndWeLeft:
		return "You left the chat with " + who + "."
	case session.EndPartnerLeft:
		if peer != "" {
			return fmt.Sprintf("%s left the chat (%s).", who, quoteUntrusted(peer))
		}
		return who + " left the chat."
	case session.EndWeDeclined:
		return "You declined " + who + "."
	case session.EndPartnerDeclined:
		return who + " declined."
	case session.EndCancelled:
		return "You cancelled the connection."
	case session.EndReplaced:
		return who + " connected again."
	case session.EndTimeout:
		return who + " stopped responding. The network may be down, or the other computer asleep."
	case session.EndRefused:
		return fmt.Sprintf("Nobody is listening at %s. Is SecureChat hosting there?", at)
	case session.EndUnreachable:
		return fmt.Sprintf("%s cannot be reached. Check the address and that both computers are on a network.", at)
	case session.EndNotSecureChat:
		return "That address does not speak SecureChat."
	case session.EndVersion:
		return fmt.Sprintf("%s uses another version of SecureChat. Both of you need the same one.", who)
	case session.EndNotAdmitted:
		return fmt.Sprintf("%s lets in only their contacts and people they invited. Ask them for an invite.", who)
	case session.EndInviteRefused:
		return "The invite was refused: it may be used up or expired. Ask for a new one."
	case session.EndWrongKey:
		return fmt.Sprintf("Someone else answered at %s: not the key you expected. Nothing was sent.", at)
	case session.EndBusy:
		return who + " is busy. Try again in a moment."
	case session.EndSecurity:
		return "The connection was dropped: a message failed its security check. Someone may be tampering with the network."
	case session.EndNetwork:
		return "The connection was lost."
	case session.EndTorOff:
		return fmt.Sprintf("%s can be reached only through Tor. Turn on Tor mode in Settings.", at)
	case session.EndTorOnly:
		return fmt.Sprintf("%s was not dialed: you reach contacts only through Tor, and it is not an onion address.", at)
	case session.EndTorUnreachable:
		return fmt.Sprintf("Tor could not reach %s. The contact may be offline, or Tor still connecting; SecureChat tries again.", at)
	}
	return "The connection ended."
}

// failedWords says why one message was not delivered.
func failedWords(r session.EndReason) string {
	switch r {
	case session.EndTimeout:
		return "no answer"
	case session.EndWeLeft:
		return "you left"
	case session.EndPartnerLeft:
		return "they left"
	case session.EndSecurity:
		return "failed its security check"
	case 0:
		return ""
	}
	return "connection lost"
}

// listenWords says why listening failed or stopped; port is the one asked for.
func listenWords(err error, port string) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, session.ErrPortInUse):
		return fmt.Sprintf("Port %s is used by another program. Choose another port.", port)
	case errors.Is(err, session.ErrListening):
		return "SecureChat is listening already."
	}
	var op *net.OpError
	if errors.As(err, &op) && strings.Contains(err.Error(), "permission") {
		return fmt.Sprintf("Port %s may not be used by this program. Choose a port above 1023.", port)
	}
	return fmt.Sprintf("SecureChat cannot listen on port %s.", port)
}

// problemWords says what went wrong in an operation the user asked for
// (what: "send", "accept", ...), without the error chain.
func problemWords(what string, err error) string {
	switch {
	case errors.Is(err, session.ErrNotConnected):
		return "Not connected: " + what + " once you are connected again."
	case errors.Is(err, session.ErrClosed):
		return "SecureChat is closing."
	case errors.Is(err, session.ErrNoRequest):
		return "That request is gone: the caller gave up."
	case errors.Is(err, session.ErrAlreadyConnected):
		return "You are connected already."
	}
	return "Could not " + what + "."
}

// quoteUntrusted shows text a partner sent, escaped and cut short.
func quoteUntrusted(s string) string {
	return fmt.Sprintf("%q", shorten(s, 80))
}
