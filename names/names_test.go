package names

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error // nil for accepted
		msg   string
	}{
		{"empty", "", ErrEmpty, "the name is empty"},
		{"one space", " ", ErrEmpty, "the name is only blank space"},
		{"tab", "\t", ErrEmpty, "the name is only blank space"},
		{"ideographic space", "\u3000\u3000", ErrEmpty, "the name is only blank space"},
		{"one byte", "B", nil, ""},
		{"63 bytes", strings.Repeat("b", MaxLen-1), nil, ""},
		{"64 bytes", strings.Repeat("b", MaxLen), nil, ""},
		{"65 bytes", strings.Repeat("b", MaxLen+1), ErrTooLong, "the name is 65 bytes long; the limit is 64"},
		// 21 three-byte characters are 63 bytes; one more ASCII byte fits,
		// one more three-byte character does not.
		{"multi-byte 64", strings.Repeat("李", 21) + "b", nil, ""},
		{"multi-byte 66", strings.Repeat("李", 22), ErrTooLong, "the name is 66 bytes long; the limit is 64"},
		{"NUL", "\x00", ErrInvalid, "the name contains a control character (U+0000)"},
		{"NUL inside", "Bo\x00b", ErrInvalid, "the name contains a control character (U+0000)"},
		{"newline", "Bob\nAlice", ErrInvalid, "the name contains a control character (U+000A)"},
		{"line separator", "Bob\u2028", ErrInvalid, "the name contains a line or paragraph separator (U+2028)"},
		{"paragraph separator", "Bob\u2029Alice", ErrInvalid, "the name contains a line or paragraph separator (U+2029)"},
		{"C1 control", "Bob\u0085", ErrInvalid, "the name contains a control character (U+0085)"},
		{"zero-width space", "Bob\u200b", ErrInvalid, "the name contains an invisible or text-direction character (U+200B)"},
		{"right-to-left override", "Bob\u202e", ErrInvalid, "the name contains an invisible or text-direction character (U+202E)"},
		{"left-to-right isolate", "\u2066Bob", ErrInvalid, "the name contains an invisible or text-direction character (U+2066)"},
		{"right-to-left mark", "Bob\u200f", ErrInvalid, "the name contains an invisible or text-direction character (U+200F)"},
		{"byte order mark", "\ufeffBob", ErrInvalid, "the name contains an invisible or text-direction character (U+FEFF)"},
		{"soft hyphen", "Bo\u00adb", ErrInvalid, "the name contains an invisible or text-direction character (U+00AD)"},
		{"zero-width joiner", "Bo\u200db", ErrInvalid, "the name contains an invisible or text-direction character (U+200D)"},
		{"Hangul filler", "\u3164", ErrInvalid, "the name contains an invisible or text-direction character (U+3164)"},
		{"combining grapheme joiner", "Bo\u034fb", ErrInvalid, "the name contains an invisible or text-direction character (U+034F)"},
		{"tag character", "Bob\U000E0041", ErrInvalid, "the name contains an invisible or text-direction character (U+E0041)"},
		// The emoji presentation selector is default-ignorable, and the
		// PRECIS Nickname profile refuses it: "❤️" must be typed as "❤".
		{"variation selector", "Ann \u2764\ufe0f", ErrInvalid, "the name contains an invisible or text-direction character (U+FE0F)"},
		{"invalid UTF-8", "Bob\xff", ErrInvalid, "the name is not valid UTF-8 text"},
		{"truncated UTF-8", "\xe6\x9d", ErrInvalid, "the name is not valid UTF-8 text"},
		{"private use", "Bob\ue000", ErrInvalid, "the name contains a character that is not allowed in names (U+E000)"},
		{"unassigned", "Bob\u0378", ErrInvalid, "the name contains a character that is not allowed in names (U+0378)"},
		{"noncharacter", "Bob\ufdd0", ErrInvalid, "the name contains a character that is not allowed in names (U+FDD0)"},
		{"Zoë", "Zoë", nil, ""},
		{"Zoë decomposed", "Zoe\u0308", nil, ""},
		{"李小龙", "李小龙", nil, ""},
		{"Ægir", "Ægir", nil, ""},
		{"emoji", "😀", nil, ""},
		{"emoji with text", "Ann ❤", nil, ""},
		{"Hebrew", "דוד", nil, ""},
		{"trailing space", "Bob ", nil, ""},
		{"leading space", " Bob", nil, ""},
		{"inner spaces", "B o b", nil, ""},
		{"Cyrillic o", "B\u043eb", nil, ""},
		{"fullwidth", "ＢＯＢ", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.input)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, tt.msg, err.Error())
		})
	}
}

// TestConfusable pins which names are lookalikes, including what the UTS #39
// data in github.com/mtibben/confusables does, so that an update of the
// library that changes it is noticed.
func TestConfusable(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Bob", "Bob", true},
		{"Bob", "bob", true},
		{"Bob", "BOB", true},
		{"Bob", "Bob ", true},
		{"Bob", " Bob", true},
		{"Bob", "\tBob\n", true},
		{"Bob", "Bob\u200b", true}, // Check refuses the second, Skeleton still matches it
		{"Bob", "Bob\u202e", true},
		{"Bob", "B\u00adob", true},
		{"Bob", "Bob\x00", true},
		{"Bob", "B\u043eb", true}, // Cyrillic о
		{"Bob", "ＢＯＢ", true},      // fullwidth
		{"Bob", "B0b", true},      // digit zero
		{"Bob", "𝐁𝐨𝐛", true},      // mathematical bold
		{"Alice Smith", "Alice  Smith", true},
		{"Alice Smith", "Alice\u00a0Smith", true},
		{"Alice Smith", "Alice\u3000Smith", true},
		{"Bill", "BiII", true},      // capital I looks like small l
		{"Bill", "Bi11", true},      // so does the digit one
		{"HACKER", "НАСКЕR", true},  // Cyrillic capitals
		{"hello", "ΗΕLLΟ", true},    // Greek capitals
		{"m", "rn", true},           // UTS #39 maps m to rn
		{"Sam", "Sarn", true},       // so these are lookalikes
		{"Zoë", "Zoe\u0308", true},  // composed and decomposed
		{"straße", "STRASSE", true}, // case folding
		{"Ǆ", "DŽ", true},           // the library alone is not idempotent here
		{"\u13e0", "\uabb0", true},  // Cherokee capital and small: x/text folding cycles
		{"\u13a0", "\uab70", false}, // capital Ꭰ looks like D, small ꭰ like ᴅ
		{"B o b", "Bob", false},     // a space is visible: not a lookalike
		{"Bob", "Bop", false},
		{"Bob", "Alice", false},
		{"Bob", "Bob2", false},
		{"Ηλιος", "ΗΛΙΟΣ", false}, // Greek case is not merged: capital Η is H, small η is n
		{"李小龙", "李小龍", false},     // simplified and traditional differ
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+Escape(tt.b), func(t *testing.T) {
			assert.Equal(t, tt.want, Confusable(tt.a, tt.b), "Skeleton(%q) = %q, Skeleton(%q) = %q", tt.a, Skeleton(tt.a), tt.b, Skeleton(tt.b))
			assert.Equal(t, tt.want, Confusable(tt.b, tt.a), "Confusable is symmetric")
		})
	}
}

func TestSkeleton(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Bob", "bob"},
		{"  Bob   Smith ", "bob srnith"},
		{"m", "rn"},
		{"Bill", "bill"},
		{"I", "l"},
		{"0", "o"},
		{"\u200b\u202e", ""},
		{"Bob\xff", "bob\ufffd"},
		{"\u13e0", "\u13e0"}, // the least of the cycle U+13E0, U+ABB0
		{"\uabb0", "\u13e0"},
	}
	for _, tt := range tests {
		t.Run(Escape(tt.in), func(t *testing.T) {
			got := Skeleton(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, Skeleton(got), "Skeleton is idempotent")
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Bob", "Bob"},
		{"Zoë 李小龙 😀 ❤️", "Zoë 李小龙 😀 ❤️"},
		{`back\slash`, `back\slash`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"\x00\x1b[31m\x7f", `\u0000\u001B[31m\u007F`},
		{"\u0085", `\u0085`},
		{"Bob\u202e", `Bob\u202E`},
		{"\u2066x\u2069", `\u2066x\u2069`},
		{"a\u200bb\u200cc\u200dd\u200ee\u200ff", `a\u200Bb\u200Cc\u200Dd\u200Ee\u200Ff`},
		{"\ufeff\u00ad\u3164", `\uFEFF\u00AD\u3164`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"tag\U000E0041", `tag\U000E0041`},
		{"bad\xff\xe6\x9d", `bad\xFF\xE6\x9D`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, Escape(tt.in))
		})
	}
}

// TestSkeleton_IdempotentForEveryCodePoint checks every assigned code point
// (private use aside) doubled around a letter, which is how the Cherokee
// folding cycle was found.
func TestSkeleton_IdempotentForEveryCodePoint(t *testing.T) {
	if testing.Short() {
		t.Skip("about 150,000 code points")
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf) {
			continue
		}
		s := string(r) + "x" + string(r)
		k := Skeleton(s)
		if k2 := Skeleton(k); k2 != k {
			t.Fatalf("Skeleton(%+q) = %+q, but Skeleton(%+q) = %+q", s, k, k, k2)
		}
	}
}
