// Package names checks the display names that SecureChat peers choose for
// themselves and flags names that look alike.
//
// A display name is chosen by whoever connects, so it never decides trust:
// the identity key does. The name is a label, and this package keeps labels
// from hiding or impersonating: [Check] refuses names with invisible,
// control or text-direction characters, [Skeleton] and [Confusable] find
// names that a reader could mistake for one another ("Bob", "bob", "Bоb" with
// a Cyrillic о, "ＢＯＢ"), and [Escape] makes any untrusted text safe to
// print in a terminal.
//
// The Unicode work is done by golang.org/x/text (NFKC, case folding, the
// PRECIS Nickname profile of RFC 8266) and github.com/mtibben/confusables
// (the UTS #39 confusable mapping); this package holds no character tables of
// its own beyond the Unicode properties of the standard library.
package names

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// MaxLen is the longest display name [Check] accepts, in bytes of UTF-8.
const MaxLen = 64

// ErrEmpty is wrapped by the error [Check] returns for a name that is empty
// or only whitespace.
var ErrEmpty = errors.New("names: the name is empty")

// ErrTooLong is wrapped by the error [Check] returns for a name longer than
// [MaxLen] bytes.
var ErrTooLong = errors.New("names: the name is too long")

// ErrInvalid is wrapped by the error [Check] returns for a name that is not
// valid UTF-8 or holds a character a name may not hold: a control character,
// an invisible or text-direction character, an unassigned code point, or
// anything else the PRECIS Nickname profile (RFC 8266) refuses.
var ErrInvalid = errors.New("names: the name contains a character that is not allowed")

// checkError is a user-readable message that wraps one of the sentinels.
type checkError struct {
	msg string
	err error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.err }

func refuse(sentinel error, format string, args ...any) error {
	return &checkError{msg: fmt.Sprintf(format, args...), err: sentinel}
}

// Check reports whether name is acceptable as a display name: 1 to [MaxLen]
// bytes of valid UTF-8, not only whitespace, with no control character
// (Unicode category Cc), no format character (category Cf: zero-width
// spaces and joiners, bidirectional controls, the byte order mark, the soft
// hyphen...), no other default-ignorable (invisible) code point, and nothing
// else the PRECIS Nickname profile refuses (unassigned code points, private
// use characters, noncharacters).
//
// Check does not require name to be in normal form: "Bob " with a trailing
// space is a legal name, which [Confusable] reports as a lookalike of "Bob".
//
// The error's text is a sentence for the user, such as "the name contains
// an invisible or text-direction character (U+202E)"; it wraps [ErrEmpty],
// [ErrTooLong] or [ErrInvalid].
func Check(name string) error {
	if name == "" {
		return refuse(ErrEmpty, "the name is empty")
	}
	if len(name) > MaxLen {
		return refuse(ErrTooLong, "the name is %d bytes long; the limit is %d", len(name), MaxLen)
	}
	if !utf8.ValidString(name) {
		return refuse(ErrInvalid, "the name is not valid UTF-8 text")
	}
	if strings.TrimFunc(name, unicode.IsSpace) == "" {
		return refuse(ErrEmpty, "the name is only blank space")
	}
	for _, r := range name {
		switch {
		case unicode.Is(unicode.Cc, r):
			return refuse(ErrInvalid, "the name contains a control character (%U)", r)
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return refuse(ErrInvalid, "the name contains a line or paragraph separator (%U)", r)
		case invisible(r):
			return refuse(ErrInvalid, "the name contains an invisible or text-direction character (%U)", r)
		}
	}
	if _, err := precis.Nickname.String(name); err != nil {
		// Name the first character the profile refuses on its own, if any;
		// otherwise it refused a sequence (say, a misplaced joiner).
		for _, r := range name {
			if _, err := precis.Nickname.String(string(r)); err != nil && !unicode.IsSpace(r) {
				return refuse(ErrInvalid, "the name contains a character that is not allowed in names (%U)", r)
			}
		}
		return refuse(ErrInvalid, "the name contains a sequence of characters that is not allowed in names")
	}
	return nil
}

// invisible reports whether r is a format character (Cf) or another
// default-ignorable code point: one that renders as nothing, or changes how
// its neighbours render, in most fonts. Variation selectors are included.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// maxRounds bounds the loop in [Skeleton] that repeats its mapping until the
// key stops changing. Every single code point settles, or enters a cycle,
// within three rounds; the bound only guards against data never seen.
const maxRounds = 16

// Skeleton returns the key under which name is compared with other names:
// two names with the same skeleton could be mistaken for one another.
//
// The key is made by removing control characters other than whitespace and
// all invisible characters (format characters and other default-ignorable
// code points), applying NFKC, collapsing each run of whitespace to one space
// and trimming the ends, then mapping each character to its UTS #39
// confusable prototype and case folding, repeated until the key no longer
// changes (or, where case folding cycles, taking the least string of the
// cycle). The confusable mapping runs before case folding so that capitals
// are compared with their lookalikes ("I" with "l", Cyrillic "Н" with "H");
// folding then merges case ("Bob" with "bob"). The price is that a capital
// and a small letter whose lookalikes differ are not merged: Greek "Η" is
// compared as "h" and "η" as "n". Spaces inside a name are kept, so
// "B o b" is not a lookalike of "Bob": the difference is visible.
//
// The result is for comparison only and is not meant to be shown. Skeleton
// accepts any string, including ones [Check] refuses, so that a refused name
// can still be compared; Skeleton(Skeleton(x)) == Skeleton(x).
func Skeleton(name string) string {
	s := strings.ToValidUTF8(name, "\uFFFD")
	s = clean(norm.NFKC.String(clean(s)))
	fold := cases.Fold()
	seen := []string{s}
	for range maxRounds {
		next := clean(norm.NFKC.String(fold.String(confusables.Skeleton(s))))
		if next == s {
			break
		}
		// x/text's case folding swaps Cherokee capitals and small letters
		// both ways (it folds U+13E0 to U+ABB0 and U+ABB0 to U+13E0), so
		// the mapping can cycle. Every member of a cycle has the same
		// cycle, and its least member is the key.
		if k := slices.Index(seen, next); k >= 0 {
			s = slices.Min(seen[k:])
			break
		}
		seen = append(seen, next)
		s = next
	}
	return s
}

// clean removes control characters that are not whitespace and invisible
// characters, collapses runs of whitespace to one ASCII space and trims
// whitespace from both ends.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.Is(unicode.Cc, r), invisible(r):
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Confusable reports whether a reader could mistake name a for name b, that
// is whether their [Skeleton]s are equal. Names that are equal are
// confusable.
func Confusable(a, b string) bool {
	return Skeleton(a) == Skeleton(b)
}

// Escape makes untrusted text safe to print in a terminal. Control
// characters, invisible characters (format characters such as U+200B and the
// bidirectional controls U+202A–U+202E and U+2066–U+2069, and other
// default-ignorable code points) and the line and paragraph separators
// U+2028 and U+2029 are written as escapes: "\n", "\t" and "\r" for those
// three, "\u202E" (four hex digits) or "\U000E0001" (eight) for the others,
// and "\xFF" for each byte that is not valid UTF-8. Everything else,
// including a backslash and the variation selectors that give emoji their
// colour form, is unchanged, so the output is for reading, not for unescaping.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Zl, unicode.Zp):
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
