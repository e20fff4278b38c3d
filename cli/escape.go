package cli

import (
	"fmt"
	"strings"
	"unicode"
)

// escape makes text from a partner or from the history safe to print as
// part of one terminal line: control characters (newline, carriage return,
// escape, ...), Unicode format characters (category Cf: U+202E
// RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, ...) and the line and
// paragraph separators U+2028 and U+2029 are shown as escapes such as \n,
// \x1b or \u202E, so that such text can neither move the cursor, drive the
// terminal, reorder what follows it nor start a line of its own. A tab
// stays. Text for JSON output is not escaped: the JSON encoder does that.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r) && r != '\u2028' && r != '\u2029':
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	return b.String()
}

// escapeLines is [escape] for a message that may have several lines: each
// line is escaped, and the lines after the first are indented so that none
// can pass for a line of its own ("[13:23] alice: ...").
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escape(l)
	}
	return strings.Join(lines, "\n    ")
}
