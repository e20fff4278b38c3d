package cli

import (
	"errors"
	"net"
	"strings"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/names"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
)

// endWords says in a plain sentence why a link ended. who is the name of
// the partner ("" when the key was never learned); the partner's own words
// (e.Peer) are untrusted and escaped.
func endWords(e session.Ended, who string) string {
	if who == "" {
		who = "The partner"
	}
	who = names.Escape(who)
	peer := ""
	if e.Peer != "" {
		peer = " (" + names.Escape(e.Peer) + ")"
	}
	switch e.Reason {
	case session.EndWeLeft:
		if e.Connected {
			return "You left the chat with " + who + "."
		}
		return "Stopped."
	case session.EndPartnerLeft:
		if !e.Connected && e.Contact == "" {
			return "The connection from " + e.Addr + " closed before it was secured."
		}
		return who + " has disconnected."
	case session.EndWeDeclined:
		return "You declined " + who + "."
	case session.EndPartnerDeclined:
		return who + " declined."
	case session.EndCancelled:
		return "Cancelled."
	case session.EndReplaced:
		return who + " connected again; the new connection takes over."
	case session.EndTimeout:
		if !e.Connected && e.Contact == "" {
			return "The connection with " + e.Addr + " timed out before it was secured."
		}
		return who + " stopped responding."
	case session.EndRefused:
		return "Nobody is listening at " + e.Addr + ". Is SecureChat hosting there?"
	case session.EndUnreachable:
		return "Cannot reach " + e.Addr + ". Check the address and the network."
	case session.EndNotSecureChat:
		return "That address does not speak SecureChat" + peer + "."
	case session.EndVersion:
		return who + " runs another version of SecureChat; both need the same version" + peer + "."
	case session.EndNotAdmitted:
		if e.Incoming {
			return "Refused a stranger from " + e.Addr + ": you admit only contacts and people you invited."
		}
		return "The host admits only its contacts and people it invited. Ask them for an invite."
	case session.EndInviteRefused:
		if e.Incoming {
			return "Refused an invite from " + e.Addr + peer + "."
		}
		return "The host refused the invite" + peer + "."
	case session.EndWrongKey:
		return "The invite's address answered with another key than the invite's: someone may be intercepting. Nothing was sent."
	case session.EndBusy:
		return who + " is busy; try again later."
	case session.EndSecurity:
		return "Security check failed: the connection with " + who + " was tampered with, so it was closed."
	case session.EndNetwork:
		return "The connection with " + who + " failed."
	case session.EndTorOff:
		return e.Addr + " can be reached only through Tor: use --tor."
	case session.EndTorOnly:
		return e.Addr + " was not dialed: only .onion addresses are dialed with --tor-only."
	case session.EndTorUnreachable:
		return "Tor could not reach " + e.Addr + torDetail(e.Err) + "."
	}
	return e.Reason.String()
}

// trustWords says in words what the partner's key is to us.
func trustWords(t session.Trust) string {
	switch t {
	case session.TrustNew:
		return "first contact"
	case session.TrustKnown:
		return "a contact"
	case session.TrustVerified:
		return "a verified contact"
	case session.TrustInvited:
		return "a contact made with an invite"
	case session.TrustChanged:
		return "A CHANGED KEY you chose to trust"
	}
	return t.String()
}

// failedWords says briefly why a message was not delivered.
func failedWords(r session.EndReason) string {
	switch r {
	case session.EndReplaced:
		return "the partner connected again; retry"
	case session.EndWeLeft, session.EndPartnerLeft, session.EndTimeout, session.EndSecurity:
		return reasonPhrases[r]
	}
	return "the connection failed"
}

// reasonPhrases say an end reason in a few words, for a line that has
// said what ended already.
var reasonPhrases = map[session.EndReason]string{
	session.EndWeLeft:          "you left the chat",
	session.EndPartnerLeft:     "the partner has disconnected",
	session.EndWeDeclined:      "you declined",
	session.EndPartnerDeclined: "the partner declined",
	session.EndCancelled:       "cancelled",
	session.EndReplaced:        "the partner connected again",
	session.EndTimeout:         "the partner stopped responding",
	session.EndRefused:         "nobody was listening",
	session.EndUnreachable:     "the address could not be reached",
	session.EndNotSecureChat:   "not SecureChat",
	session.EndVersion:         "another SecureChat version",
	session.EndNotAdmitted:     "not admitted",
	session.EndInviteRefused:   "the invite was refused",
	session.EndWrongKey:        "another key answered",
	session.EndBusy:            "busy",
	session.EndSecurity:        "the connection was tampered with",
	session.EndNetwork:         "the connection failed",
	session.EndTorOff:          "reachable only through Tor",
	session.EndTorOnly:         "not an onion address (Tor only)",
	session.EndTorUnreachable:  "Tor could not reach it",
}

// storedReasonWords says a reason the history holds: the machine name of
// an end reason ("partner_left", "not_sent"), or, in conversations written
// by older versions, words already.
func storedReasonWords(stored string) string {
	if stored == "not_sent" {
		return "not sent: the chat ended"
	}
	for r, phrase := range reasonPhrases {
		if r.String() == stored {
			return phrase
		}
	}
	return stored
}

// setupWords says why the chat could not start; listen is the --listen
// address.
func setupWords(err error, listen string) string {
	if errors.Is(err, session.ErrPortInUse) {
		port := listen
		if _, p, e := net.SplitHostPort(listen); e == nil {
			port = p
		}
		return "Port " + port + " is used by another program. Stop it, or choose another port with --listen."
	}
	return "error: " + err.Error()
}

// torDetail is tor's reason for a failed dial, " (…)", or "" without one.
func torDetail(err error) string {
	if err == nil {
		return ""
	}
	return " (" + strings.TrimPrefix(err.Error(), "session: through Tor: ") + ")"
}

// fileEndWords says why a transfer failed, in a sentence; who is the
// partner's name, escaped already. The partner's own words are escaped.
func fileEndWords(t transfer.Transfer, who string) string {
	var pe *filexfer.PartnerError
	byPartner := errors.As(t.Err, &pe)
	name := escape(t.Name)
	var s string
	switch {
	case errors.Is(t.Err, filexfer.ErrDeclined):
		if t.Outgoing {
			s = who + " declined " + name
		} else {
			s = "you declined " + name + " from " + who
		}
	case errors.Is(t.Err, filexfer.ErrCancelled):
		if byPartner {
			s = who + " cancelled " + name
		} else {
			s = "you cancelled " + name
		}
	case errors.Is(t.Err, filexfer.ErrHashMismatch):
		s = name + " arrived damaged (its SHA-256 is not the offer's) and was discarded"
	case errors.Is(t.Err, filexfer.ErrSourceChanged):
		if t.Outgoing {
			s = name + " changed or could not be read while it was being sent; send it again"
		} else {
			s = who + "'s copy of " + name + " changed or could not be read, so it was not sent"
		}
	case errors.Is(t.Err, filexfer.ErrStorage):
		if t.Outgoing {
			s = who + " could not store " + name + " (a full disk?)"
		} else {
			s = name + " could not be stored (is the disk full?)"
		}
	case errors.Is(t.Err, filexfer.ErrUnusableName):
		s = name + " has a name that cannot be used for a file, so it was declined"
	case errors.Is(t.Err, filexfer.ErrBusy):
		s = who + " has too many of your files waiting for an answer; send " + name + " again once " + who + " has answered some"
	case errors.Is(t.Err, filexfer.ErrProtocol):
		s = "the transfer of " + name + " broke the file protocol and was ended"
	default:
		s = name + " failed: " + escape(errText(t.Err))
	}
	if byPartner && pe.Reason != "" && pe.Code != filexfer.CodeBusy { // busy: our words say it all
		s += " (" + who + " says: " + snippet(pe.Reason) + ")"
	}
	return s
}

// failedFileWords says in a few words why a transfer failed.
func failedFileWords(err error) string {
	for _, k := range []struct {
		err  error
		text string
	}{
		{filexfer.ErrDeclined, "declined"},
		{filexfer.ErrCancelled, "cancelled"},
		{filexfer.ErrHashMismatch, "damaged: SHA-256 mismatch"},
		{filexfer.ErrSourceChanged, "the file changed at the sender"},
		{filexfer.ErrStorage, "could not be stored"},
		{filexfer.ErrUnusableName, "unusable name"},
		{filexfer.ErrBusy, "too many offers waiting"},
		{filexfer.ErrProtocol, "protocol violation"},
	} {
		if errors.Is(err, k.err) {
			return k.text
		}
	}
	if err == nil {
		return "unknown reason"
	}
	return escape(err.Error())
}
