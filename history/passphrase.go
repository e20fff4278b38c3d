package history

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MinPassphraseLen is the fewest characters (Unicode code points) a new
// profile passphrase may have, in the desktop app and in the terminal alike.
// Existing profiles with shorter passphrases still open.
const MinPassphraseLen = 8

// ErrShortPassphrase is returned by [CheckNewPassphrase] for a passphrase
// shorter than [MinPassphraseLen].
var ErrShortPassphrase = errors.New("history: passphrase too short")

// CheckNewPassphrase tells whether passphrase may protect a new profile or
// replace the passphrase of one: it returns an error wrapping
// [ErrShortPassphrase] when it has fewer than [MinPassphraseLen] characters.
// Both front ends call it before [Create] and [Vault.ChangePassphrase].
func CheckNewPassphrase(passphrase []byte) error {
	if utf8.RuneCount(passphrase) < MinPassphraseLen {
		return fmt.Errorf("%w: use at least %d characters", ErrShortPassphrase, MinPassphraseLen)
	}
	return nil
}
