package names

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"", " ", "\t", "Bob", "bob ", "B\u043eb", "Bob\u200b", "Bob\u202e", "ＢＯＢ", "rn", "m",
	"Zoë", "Zoe\u0308", "李小龙", "Ægir", "😀", "❤️", "Ǆ", "ß", "\u13e0", "\uabb0x\uabb0", "\u3164", "\xff",
	strings.Repeat("b", MaxLen), strings.Repeat("b", MaxLen+1),
}

func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Check(%q): empty error text", s)
			}
			return
		}
		if len(s) == 0 || len(s) > MaxLen || !utf8.ValidString(s) {
			t.Fatalf("Check(%q) accepted a name of the wrong length or encoding", s)
		}
		for _, r := range s {
			if unicode.In(r, unicode.Cc, unicode.Cf) {
				t.Fatalf("Check(%q) accepted %U", s, r)
			}
		}
		if Escape(s) != s {
			t.Fatalf("Check(%q) accepted a name that Escape changes to %q", s, Escape(s))
		}
	})
}

func FuzzSkeleton(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Skeleton(s)
		if k2 := Skeleton(k); k2 != k {
			t.Fatalf("Skeleton not idempotent: %q -> %q -> %q", s, k, k2)
		}
		if !utf8.ValidString(k) {
			t.Fatalf("Skeleton(%q) = %q is not valid UTF-8", s, k)
		}
		if k != strings.TrimSpace(k) || strings.Contains(k, "  ") {
			t.Fatalf("Skeleton(%q) = %q has untrimmed or repeated spaces", s, k)
		}
		if !Confusable(s, s) {
			t.Fatalf("Confusable(%q, itself) is false", s)
		}
		_ = Escape(s)
	})
}
