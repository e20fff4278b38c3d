package filexfer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxSafeNameBytes is the longest name [SafeName] returns: 255 bytes of
// UTF-8, which every file system SecureChat runs on takes (ext4 and APFS
// count 255 bytes, NTFS 255 UTF-16 code units; UTF-8 never needs fewer
// bytes than UTF-16 needs units).
const MaxSafeNameBytes = 255

// maxExtBytes is the longest extension that SafeName keeps when it
// shortens a name; a longer "extension" is just part of the name.
const maxExtBytes = 32

// SafeName turns the name a sender gave a file into one that the receiver
// can create as a single file in a folder it chose, on Linux, macOS and
// Windows, without the name reaching anywhere else, hiding, or looking like
// something it is not. The user interface shows this cleaned name, never
// the sender's. The rules, in order:
//
//  1. Invalid UTF-8 bytes, control characters (Cc), line and paragraph
//     separators (Zl, Zp), path separators / and \, the characters Windows
//     forbids (< > : " | ? *), and their full-width and slash look-alikes
//     (／ ＼ ∕ ⁄ ⧸ ⧹ ＜ ＞ ： ＂ ｜ ？ ＊, which a legacy Windows "best fit"
//     conversion turns back into the ASCII ones) each become "_".
//  2. Bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E,
//     U+2066 to U+2069) are removed: "invoice\u202Efdp.exe" must not show
//     as "invoiceexe.pdf".
//  3. The result is put in Unicode normalization form C (a name from
//     macOS's decomposed form reads and sorts like the same name typed).
//  4. Runs of dots become one dot, so the name never contains "..".
//  5. Dots and spaces (Zs) at the start and at the end are removed:
//     Windows drops them at the end, and a leading dot hides a file on
//     Linux and macOS.
//  6. A name reserved by Windows, compared case-insensitively on the part
//     before the first dot with trailing spaces removed (CON, PRN, AUX,
//     NUL, CONIN$, CONOUT$, COM0 to COM9, LPT0 to LPT9, and COM¹, COM²,
//     COM³, LPT¹, LPT², LPT³), gets a "_" in front: "con.txt" → "_con.txt".
//  7. A name over [MaxSafeNameBytes] is shortened on a character boundary,
//     keeping its extension (the last dot and what follows, up to 32
//     bytes), and rule 5 is applied again.
//
// A name that is empty after this ("", ".", "..", "   ", "\u202E") is an
// [ErrUnusableName]; any other name is returned cleaned. SafeName is
// idempotent: a cleaned name comes back unchanged.
//
// SafeName does not make names unique: the caller still picks another
// name when the folder already has one ("photo (1).png").
func SafeName(name string) (string, error) {
	var b strings.Builder
	b.Grow(len(name))
	for i, r := range name {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(name[i:], "\uFFFD"):
			b.WriteByte('_') // an invalid byte
		case unicode.Is(unicode.Bidi_Control, r):
			// removed
		case unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) || isForbidden(r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := norm.NFC.String(b.String())
	s = collapseDots(s)
	s = trimEnds(s)
	if isReserved(s) {
		s = "_" + s
	}
	s = trimEnds(shorten(s))
	if s == "" {
		return "", ErrUnusableName
	}
	return s, nil
}

// isForbidden: separators, the characters Windows forbids in a name, and
// their look-alikes.
func isForbidden(r rune) bool {
	switch r {
	case '/', '\\', '<', '>', ':', '"', '|', '?', '*',
		'\uFF0F', '\uFF3C', '\u2215', '\u2044', '\u29F8', '\u29F9', // ／ ＼ ∕ ⁄ ⧸ ⧹
		'\uFF1C', '\uFF1E', '\uFF1A', '\uFF02', '\uFF5C', '\uFF1F', '\uFF0A': // ＜ ＞ ： ＂ ｜ ？ ＊
		return true
	}
	return false
}

func collapseDots(s string) string {
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	return s
}

func isEndJunk(r rune) bool { return r == '.' || unicode.Is(unicode.Zs, r) }

func trimEnds(s string) string { return strings.TrimFunc(s, isEndJunk) }

// reserved are the device names of Windows, in upper case.
var reserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true,
}

func init() {
	for d := '0'; d <= '9'; d++ {
		reserved["COM"+string(d)] = true
		reserved["LPT"+string(d)] = true
	}
}

// isReserved: the part before the first dot, without trailing spaces, is a
// Windows device name in any ASCII case.
func isReserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.TrimRight(base, " ")
	if len(base) > len("CONOUT$") {
		return false
	}
	return reserved[asciiUpper(base)]
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// shorten cuts s to MaxSafeNameBytes on a character boundary, keeping a
// short extension.
func shorten(s string) string {
	if len(s) <= MaxSafeNameBytes {
		return s
	}
	stem, ext := s, ""
	if dot := strings.LastIndexByte(s, '.'); dot > 0 && len(s)-dot <= maxExtBytes {
		stem, ext = s[:dot], s[dot:]
	}
	// A cut stem that ends in a dot or a space would make "name..ext".
	return strings.TrimRightFunc(cutUTF8(stem, MaxSafeNameBytes-len(ext)), isEndJunk) + ext
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on
// a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
