package crypto

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"
)

// safetyLabel separates safety-number hashing from every other use of SHA-512.
const safetyLabel = "SecureChat v1 safety number\x00"

// SafetyNumber returns the 60-digit number, in 12 groups of 5, that both
// partners see for the pair of identity keys a and b. It is symmetric:
// SafetyNumber(a, b) == SafetyNumber(b, a), so both roles compute the same
// number. Each key contributes 30 digits (see docs/PROTOCOL.md); the halves
// are ordered so that the number does not depend on who calls.
func SafetyNumber(a, b *PublicIdentity) string {
	ha, hb := safetyHalf(a), safetyHalf(b)
	if ha > hb {
		ha, hb = hb, ha
	}
	return groupDigits(ha + hb)
}

// SafetyHalf returns the 30 digits that key p contributes to a safety
// number, grouped in 5s. The verify dialog shows each side's half.
func SafetyHalf(p *PublicIdentity) string { return groupDigits(safetyHalf(p)) }

func safetyHalf(p *PublicIdentity) string {
	h := sha512.New()
	h.Write([]byte(safetyLabel))
	h.Write(p.der)
	sum := h.Sum(nil)
	var b strings.Builder
	for i := 0; i < 6; i++ {
		// Five bytes give a 40-bit number; its value modulo 100000 is one
		// group of five digits (as Signal does).
		var chunk [8]byte
		copy(chunk[3:], sum[i*5:i*5+5])
		fmt.Fprintf(&b, "%05d", binary.BigEndian.Uint64(chunk[:])%100000)
	}
	return b.String()
}

func groupDigits(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i += 5 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+5, len(s))])
	}
	return b.String()
}
