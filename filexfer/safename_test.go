package filexfer

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const safeNameVectors = "safename.txt"

// safeNameCase is one rule of SafeName at work; want "" means refused.
type safeNameCase struct {
	rule, in, want string
}

var safeNameCases = []safeNameCase{
	{"plain", "photo.png", "photo.png"},
	{"plain", "Zoë's holiday 2024 (1).jpeg", "Zoë's holiday 2024 (1).jpeg"},
	{"plain", "李小龙.pdf", "李小龙.pdf"},
	{"plain", "👨‍👩‍👧 family.png", "👨‍👩‍👧 family.png"}, // ZWJ is Cf but not a bidi control: kept
	{"plain", "a\uFFFDb", "a\uFFFDb"},
	{"separator", "a/b", "a_b"},
	{"separator", "a\\b", "a_b"},
	{"separator", "/etc/passwd", "_etc_passwd"},
	{"separator", "../../.bashrc", "_._.bashrc"},
	{"separator", `..\..\Windows\System32\x.dll`, `_._Windows_System32_x.dll`},
	{"separator", "C:\\x", "C__x"},
	{"separator look-alike", "a／b＼c∕d⁄e⧸f⧹g", "a_b_c_d_e_f_g"},
	{"dots", ".", ""},
	{"dots", "..", ""},
	{"dots", "...", ""},
	{"dots", "a..b", "a.b"},
	{"dots", "wait....txt", "wait.txt"},
	{"dots", ".hidden", "hidden"},
	{"dots", "name.", "name"},
	{"dots", "name. . .", "name"},
	{"spaces", "  name.txt  ", "name.txt"},
	{"spaces", "\u3000name\u00a0", "name"},
	{"spaces", "a  b", "a  b"},
	{"spaces", "   ", ""},
	{"control", "a\x00b", "a_b"},
	{"control", "line\nbreak\r.txt", "line_break_.txt"},
	{"control", "tab\there", "tab_here"},
	{"control", "del\x7f", "del_"},
	{"control", "c1\u0085x", "c1_x"},
	{"control", "para\u2029x\u2028y", "para_x_y"},
	{"control", "\x00", "_"},
	{"bidi", "invoice\u202Efdp.exe", "invoicefdp.exe"},
	{"bidi", "a\u200Eb\u200Fc\u061Cd\u2066e\u2067f\u2068g\u2069h\u202Ai\u202Bj\u202Ck\u202Dl", "abcdefghijkl"},
	{"bidi", "\u202E", ""},
	{"bidi", ".\u202E.", ""},
	{"windows forbidden", `a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
	{"windows forbidden", "file.txt:stream", "file.txt_stream"},
	{"windows forbidden", "＜＞：＂｜？＊", "_______"},
	{"reserved", "CON", "_CON"},
	{"reserved", "con", "_con"},
	{"reserved", "con.txt", "_con.txt"},
	{"reserved", "Con.tar.gz", "_Con.tar.gz"},
	{"reserved", "con .txt", "_con .txt"},
	{"reserved", "PRN", "_PRN"},
	{"reserved", "aux.c", "_aux.c"},
	{"reserved", "nul", "_nul"},
	{"reserved", "NUL.", "_NUL"},
	{"reserved", "com1", "_com1"},
	{"reserved", "COM9.log", "_COM9.log"},
	{"reserved", "com0", "_com0"},
	{"reserved", "lpt1", "_lpt1"},
	{"reserved", "LPT9.txt", "_LPT9.txt"},
	{"reserved", "COM¹", "_COM¹"},
	{"reserved", "lpt².txt", "_lpt².txt"},
	{"reserved", "com³", "_com³"},
	{"reserved", "CONIN$", "_CONIN$"},
	{"reserved", "conout$.txt", "_conout$.txt"},
	{"reserved", "CON\u202E", "_CON"},
	{"not reserved", "console.txt", "console.txt"},
	{"not reserved", "com10", "com10"},
	{"not reserved", "com⁴", "com⁴"},
	{"not reserved", "xcon", "xcon"},
	{"not reserved", "_con", "_con"},
	{"invalid UTF-8", "a\xffb", "a_b"},
	{"invalid UTF-8", "\xc3", "_"},
	{"normalization", "Cafe\u0301.txt", "Café.txt"},
	{"empty", "", ""},
	{"long", strings.Repeat("a", 255), strings.Repeat("a", 255)},
	{"long", strings.Repeat("a", 256), strings.Repeat("a", 255)},
	{"long", strings.Repeat("a", 300) + ".jpeg", strings.Repeat("a", 250) + ".jpeg"},
	{"long", strings.Repeat("é", 200) + ".png", strings.Repeat("é", 125) + ".png"}, // 2-byte runes: 250 bytes + 4, not 251 + half a rune
	{"long", strings.Repeat("😀", 100), strings.Repeat("😀", 63)},
	{"long", strings.Repeat("a", 260) + "." + strings.Repeat("x", 40), strings.Repeat("a", 255)}, // an "extension" of 41 bytes is not kept
	{"long", strings.Repeat("a", 249) + " . " + strings.Repeat("b", 10) + ".txt", strings.Repeat("a", 249) + ".txt"}, // no "a ..txt" where the cut falls
}

func TestSafeName_Rules(t *testing.T) {
	for _, c := range safeNameCases {
		t.Run(c.rule+"/"+excerpt(c.in, 24), func(t *testing.T) {
			got, err := SafeName(c.in)
			if c.want == "" {
				require.ErrorIs(t, err, ErrUnusableName)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			checkSafe(t, c.in, got)
		})
	}
}

// checkSafe fails unless out, SafeName's answer for in, keeps every
// promise of SafeName, including that SafeName leaves it unchanged.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if violation := unsafeBecause(out); violation != "" {
		t.Fatalf("SafeName(%q) = %q: %s", in, out, violation)
	}
	again, err := SafeName(out)
	if err != nil || again != out {
		t.Fatalf("SafeName is not idempotent: %q → %q → %q, %v", in, out, again, err)
	}
}

// unsafeBecause says what is wrong with a name SafeName returned, or "".
func unsafeBecause(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxSafeNameBytes:
		return fmt.Sprintf("%d bytes", len(s))
	case strings.ContainsAny(s, `/\<>:"|?*`):
		return "a separator or a character Windows forbids"
	case strings.Contains(s, ".."):
		return `contains ".."`
	case isEndJunk([]rune(s)[0]) || isEndJunk([]rune(s)[len([]rune(s))-1]):
		return "starts or ends with a dot or a space"
	case isReserved(s):
		return "a reserved Windows name"
	}
	for i, r := range s {
		switch {
		case r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD"):
			return "invalid UTF-8"
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("control character %U", r)
		case r == '\u061C' || r == '\u200E' || r == '\u200F' || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069':
			return fmt.Sprintf("bidirectional control %U", r)
		}
	}
	return ""
}

func TestSafeName_EveryReservedNameInEveryCaseIsRewritten(t *testing.T) {
	for name := range reserved {
		for _, v := range []string{name, strings.ToLower(name), name[:1] + strings.ToLower(name[1:])} {
			for _, ext := range []string{"", ".txt", ".tar.gz", " .txt"} {
				got, err := SafeName(v + ext)
				require.NoError(t, err)
				require.Equal(t, "_"+v+ext, got)
			}
		}
	}
	require.Len(t, reserved, 6+10+10+6)
}

// TestGenerateSafeNameVectors writes testdata/safename.txt from the table
// above: a second implementation replays it.
func TestGenerateSafeNameVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata")
	}
	var b strings.Builder
	b.WriteString("# SafeName: a sender's file name → the name a receiver uses (filexfer package doc, \"File names\").\n")
	b.WriteString("# One per line: rule: Go-quoted input -> Go-quoted output, or -> refused.\n")
	b.WriteString("# Generated by TestGenerateSafeNameVectors (go test ./filexfer -run TestGenerate -update); do not edit.\n")
	for _, c := range safeNameCases {
		want := "refused"
		if c.want != "" {
			want = strconv.Quote(c.want)
		}
		fmt.Fprintf(&b, "%s: %s -> %s\n", c.rule, strconv.Quote(c.in), want)
	}
	require.NoError(t, os.WriteFile(filepath.Join("testdata", safeNameVectors), []byte(b.String()), 0o644))
}

func TestReplaySafeNameVectors(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", safeNameVectors))
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		_, rest, ok := strings.Cut(line, ": ")
		require.True(t, ok, line)
		in, want, ok := strings.Cut(rest, " -> ")
		require.True(t, ok, line)
		in, err := strconv.Unquote(in)
		require.NoError(t, err, line)
		got, err := SafeName(in)
		if want == "refused" {
			require.ErrorIs(t, err, ErrUnusableName, line)
		} else {
			want, uerr := strconv.Unquote(want)
			require.NoError(t, uerr, line)
			require.NoError(t, err, line)
			require.Equal(t, want, got, line)
		}
		n++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, len(safeNameCases), n, "the file and the table differ: regenerate with -update")
}
