package history

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckNewPassphrase_CountsCharacters(t *testing.T) {
	for _, tc := range []struct {
		name string
		pass string
		ok   bool
	}{
		{"empty", "", false},
		{"one character", "x", false},
		{"one short of the minimum", strings.Repeat("x", MinPassphraseLen-1), false},
		{"the minimum", strings.Repeat("x", MinPassphraseLen), true},
		{"one more", strings.Repeat("x", MinPassphraseLen+1), true},
		// characters, not bytes: 7 two-byte letters are 14 bytes but too short
		{"short in characters, long in bytes", strings.Repeat("é", MinPassphraseLen-1), false},
		{"the minimum in characters", strings.Repeat("é", MinPassphraseLen), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNewPassphrase([]byte(tc.pass))
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrShortPassphrase)
			assert.ErrorContains(t, err, "at least 8 characters")
		})
	}
}
