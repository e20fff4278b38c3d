package tor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogTail_Quote(t *testing.T) {
	var out strings.Builder
	l := &logTail{out: &out}
	require.Equal(t, "(tor wrote nothing)", l.quote())

	// Written in pieces that split lines.
	text := "Nov 27 20:24:18.176 [err] an old error\n"
	for i := range 20 {
		text += fmt.Sprintf("Nov 27 20:24:18.176 [notice] line %d\n", i)
	}
	text += "Nov 27 20:24:18.176 [err] Reading config failed\r\nNov 27 20:24:19.000 [notice] last"
	for len(text) > 0 {
		n := min(7, len(text))
		_, _ = l.Write([]byte(text[:n]))
		text = text[n:]
	}
	require.Equal(t, "[notice] line 17 / [notice] line 18 / [notice] line 19 / [err] Reading config failed / [notice] last", l.quote())
	require.Contains(t, out.String(), "[err] an old error", "everything goes to Config.Log")

	_, _ = l.Write([]byte("\n[err] deep trouble\n"))
	for i := range 6 {
		_, _ = fmt.Fprintf(l, "[notice] after %d\n", i)
	}
	require.Equal(t, "[err] deep trouble / ... / [notice] after 1 / [notice] after 2 / [notice] after 3 / [notice] after 4 / [notice] after 5", l.quote())

	_, _ = l.Write([]byte(strings.Repeat("x", 10000) + "\x1b\n"))
	q := l.quote()
	require.NotContains(t, q, "\x1b")
	require.Less(t, len(q), 5*(tailLineLen+10))
	for range 2 * tailLines {
		_, _ = l.Write([]byte("[notice] more\n"))
	}
	require.Len(t, l.lines, tailLines, "bounded")
}

func TestStripTimestamp(t *testing.T) {
	require.Equal(t, "[notice] x", stripTimestamp("Nov 27 20:24:18.176 [notice] x"))
	require.Equal(t, "no stamp [here]", stripTimestamp("no stamp [here]"))
	require.Equal(t, "[warn] y", stripTimestamp("[warn] y"))
}
