package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/securechat/securechat/filexfer"
	"github.com/securechat/securechat/session"
	"github.com/securechat/securechat/transfer"
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

// The words of file transfers: sizes, speeds, time left, what a file is,
// where a transfer stands and why it failed. A name comes from the engine
// already cleaned (filexfer.SafeName) and is shown as plain text, never
// as markup; a partner's own reason for ending a transfer is quoted.

// humanSize is a size in bytes for people, in decimal units as file
// managers show them: "1 byte", "512 bytes", "4.2 MB", "200 MB".
func humanSize(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"kB", "MB", "GB", "TB"}
	f, i := float64(n)/1000, 0
	for f >= 999.95 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if f >= 99.95 {
		return fmt.Sprintf("%.0f %s", f, units[i])
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") + " " + units[i]
}

// timeLeft says how long a transfer still takes: "45 s left", "3 min
// left", "1 h 5 min left"; "" when unknown.
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	secs := int64((d + time.Second - 1) / time.Second)
	switch {
	case secs < 60:
		return fmt.Sprintf("%d s left", secs)
	case secs < 3600:
		return fmt.Sprintf("%d min left", (secs+59)/60)
	}
	mins := (secs + 59) / 60
	return fmt.Sprintf("%d h %d min left", mins/60, mins%60)
}

// progressWords is the line under a transfer's progress bar: "12.3 MB of
// 200 MB · 4.1 MB/s · 45 s left", without what is not known.
func progressWords(t transfer.Transfer) string {
	s := humanSize(t.Bytes) + " of " + humanSize(t.Size)
	if t.Rate > 0 {
		s += " · " + humanSize(int64(t.Rate)) + "/s"
		if left := timeLeft(t.Remaining()); left != "" {
			s += " · " + left
		}
	}
	return s
}

// fileTypes name the media types a person knows; others are told by the
// name's extension. The offered media type is the partner's word and is
// never shown as it is.
var fileTypes = map[string]string{
	"image/png": "PNG image", "image/jpeg": "JPEG image", "image/gif": "GIF image",
	"image/webp": "WebP image", "image/svg+xml": "SVG image", "application/pdf": "PDF document",
	"text/plain": "text", "application/zip": "ZIP archive", "video/mp4": "MP4 video",
	"audio/mpeg": "MP3 audio",
}

// fileTypeWords says what kind of file a transfer is: "PNG image",
// "ZIP archive", "DOCX file", "file".
func fileTypeWords(mediaType, name string) string {
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mt = strings.ToLower(mt)
		if w, ok := fileTypes[mt]; ok {
			return w
		}
		switch {
		case strings.HasPrefix(mt, "image/"):
			return "image"
		case strings.HasPrefix(mt, "video/"):
			return "video"
		case strings.HasPrefix(mt, "audio/"):
			return "audio"
		}
	}
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	if ext == "" || len(ext) > 8 || strings.IndexFunc(ext, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}) >= 0 {
		return "file"
	}
	return strings.ToUpper(ext) + " file"
}

// fileStateWords is the line a file bubble shows for t's state; partner
// is whom the thread is with. failed reports a failure (shown in the
// error colour).
func fileStateWords(t transfer.Transfer, partner string) (words string, failed bool) {
	if partner == "" {
		partner = "your contact"
	}
	switch t.State {
	case transfer.StatePreparing:
		return "Preparing…", false
	case transfer.StateWaiting:
		switch {
		case !t.Outgoing:
			return "", false
		case t.Connected:
			return "Waiting for " + partner + " to accept", false
		}
		return "Offered when " + partner + " is online", false
	case transfer.StateTransferring:
		if !t.Connected {
			return "Paused — continues when " + partner + " is back", false
		}
		return progressWords(t), false
	case transfer.StateVerifying:
		return "Checking…", false
	case transfer.StateDone:
		if t.Outgoing {
			return "Delivered", false
		}
		return "", false
	case transfer.StateFailed:
		return fileFailWords(t, partner), true
	}
	return "", false
}

// fileFailWords says why a transfer failed. The partner's own reason,
// when it gave one, is quoted and escaped.
func fileFailWords(t transfer.Transfer, partner string) string {
	err := t.Err
	var pe *filexfer.PartnerError
	byPartner := errors.As(err, &pe)
	var s string
	switch {
	case errors.Is(err, filexfer.ErrDeclined) && byPartner:
		s = partner + " declined the file."
	case errors.Is(err, filexfer.ErrDeclined):
		s = "You declined the file."
	case errors.Is(err, filexfer.ErrCancelled) && byPartner:
		s = partner + " cancelled the transfer."
	case errors.Is(err, filexfer.ErrCancelled):
		s = "You cancelled the transfer."
	case errors.Is(err, filexfer.ErrHashMismatch):
		s = "The file did not match what was announced and was discarded."
	case errors.Is(err, filexfer.ErrSourceChanged) && t.Outgoing:
		s = "The file changed or could not be read on this computer, so sending stopped."
	case errors.Is(err, filexfer.ErrSourceChanged):
		s = partner + "'s file changed or could not be read, so the transfer stopped."
	case errors.Is(err, filexfer.ErrStorage) && !byPartner:
		s = "The file could not be stored on this computer. Is the disk full?"
	case errors.Is(err, filexfer.ErrStorage):
		s = partner + "'s computer could not store the file."
	case errors.Is(err, filexfer.ErrUnusableName):
		s = "The file's name could not be used, so it was declined."
	case errors.Is(err, filexfer.ErrBusy):
		s = partner + " has too many of your files waiting for an answer. Send this one again once " + partner + " has answered some."
	case errors.Is(err, filexfer.ErrProtocol), errors.Is(err, filexfer.ErrInvalid):
		s = "The transfer broke the rules of SecureChat's protocol and was stopped."
	default:
		s = "The transfer failed."
	}
	if byPartner && pe.Reason != "" && pe.Code != filexfer.CodeBusy { // busy: our words say it all
		s += " " + partner + " said: " + quoteUntrusted(pe.Reason)
	}
	return s
}

// fileProblemWords says why a file operation the user asked for failed
// (what: "send report.pdf", "accept the file", ...).
func fileProblemWords(what string, err error) string {
	switch {
	case errors.Is(err, transfer.ErrUnknown):
		return "Could not " + what + ": that file transfer no longer exists."
	case errors.Is(err, transfer.ErrFinished):
		return "Could not " + what + ": the transfer has ended already."
	case errors.Is(err, transfer.ErrNotReady):
		return "Could not " + what + ": the file has not been received completely yet."
	case errors.Is(err, filexfer.ErrEmptyFile):
		return "Could not " + what + ": the file is empty. Files of 1 byte to 4 GiB can be sent."
	case errors.Is(err, filexfer.ErrTooLarge):
		return "Could not " + what + ": the file is larger than 4 GiB."
	case errors.Is(err, fs.ErrNotExist):
		return "Could not " + what + ": there is no such file."
	case errors.Is(err, fs.ErrPermission):
		return "Could not " + what + ": SecureChat may not read or write it."
	}
	return "Could not " + what + "."
}
