package filexfer

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// seedVectors adds every encoding of the vector file, valid or not.
func seedVectors(f *testing.F) {
	for _, blk := range readBlocks(f) {
		b, err := hex.DecodeString(blk["encoded"])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// reencodes fails when a message that parsed does not marshal back to the
// same bytes, or when Parse disagrees with the typed parser.
func reencodes[M Message](t *testing.T, m M, err error, b []byte) {
	t.Helper()
	any, anyErr := Parse(b)
	if (err == nil) != (anyErr == nil) {
		t.Fatalf("Parse and the %T parser disagree: %v / %v", m, anyErr, err)
	}
	if err != nil {
		if err.Error() == "" || len(err.Error()) > 200 {
			t.Fatalf("error text of %d bytes: %q", len(err.Error()), err)
		}
		return
	}
	if _, ok := any.(M); !ok {
		t.Fatalf("Parse gave a %T, the typed parser a %T", any, m)
	}
	out, merr := m.Marshal()
	if merr != nil || !bytes.Equal(out, b) {
		t.Fatalf("%T does not re-encode to the same bytes: %v", m, merr)
	}
}

// onlyType: the typed parsers refuse other types, so their targets seed
// and mutate bytes of their own type.
func onlyType(b []byte, typ byte) bool { return len(b) > 0 && b[0] == typ }

func FuzzParse(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if len(err.Error()) > 200 {
				t.Fatalf("error text of %d bytes", len(err.Error()))
			}
			return
		}
		out, err := m.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("%T does not re-encode to the same bytes: %v", m, err)
		}
	})
}

func FuzzParseOffer(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseOffer(b)
		if onlyType(b, TypeOffer) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseAccept(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAccept(b)
		if onlyType(b, TypeAccept) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseDecline(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDecline(b)
		if onlyType(b, TypeDecline) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseChunk(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseChunk(b)
		if onlyType(b, TypeChunk) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseProgress(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseProgress(b)
		if onlyType(b, TypeProgress) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseCancel(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCancel(b)
		if onlyType(b, TypeCancel) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

func FuzzParseDone(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDone(b)
		if onlyType(b, TypeDone) || err == nil {
			reencodes(t, m, err, b)
		}
	})
}

// FuzzSafeName: SafeName never panics, never returns a name with a
// separator, "..", a control or bidirectional character, a reserved
// Windows name, more than 255 bytes, or a dot or space at either end; it
// refuses only with ErrUnusableName; and it is idempotent.
func FuzzSafeName(f *testing.F) {
	for _, c := range safeNameCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := SafeName(in)
		if err != nil {
			if err != ErrUnusableName || out != "" {
				t.Fatalf("SafeName(%q) = %q, %v", in, out, err)
			}
			return
		}
		checkSafe(t, in, out)
	})
}
