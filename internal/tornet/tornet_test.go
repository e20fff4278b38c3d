package tornet

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogTail_QuoteKeepsWhatWentWrong(t *testing.T) {
	l := newLogTail()
	l.add("Nov 27 20:27:48.052 [warn] You have used DirAuthority or AlternateDirAuthority to specify alternate directory authorities in your configuration.")
	l.add("Nov 27 20:27:48.000 [warn] Failed to parse/validate config: Unknown option 'Foo'.")
	for i := range 30 {
		l.add("notice line " + strconv.Itoa(i))
	}
	q := l.quote(5)
	assert.Contains(t, q, "Unknown option 'Foo'", "a warning from long ago is quoted")
	assert.NotContains(t, q, "alternate directory authorities", "an expected warning is not")
	assert.Contains(t, q, "notice line 29")
	assert.NotContains(t, q, "notice line 24")
	assert.Equal(t, "    (nothing)\n", newLogTail().quote(5))

	for i := range maxLogLines + 10 {
		l.add("x" + strconv.Itoa(i))
	}
	assert.LessOrEqual(t, len(l.lines), maxLogLines)
	_, ok, _ := l.find("x" + strconv.Itoa(maxLogLines+9))
	assert.True(t, ok)
}

func TestStart_RefusesTooSmallANetwork(t *testing.T) {
	for _, o := range []Options{{Authorities: 1, Relays: 2}, {Authorities: 2, Relays: -1}, {Authorities: -1}} {
		_, err := Start(context.Background(), t.TempDir(), o)
		require.Error(t, err, "%+v", o)
		assert.True(t, strings.HasPrefix(err.Error(), "tornet: "))
	}
	_, err := Start(context.Background(), filepath.Join(t.TempDir(), "a\nb"), Options{})
	assert.ErrorContains(t, err, "control characters")
}

func TestPrefixWriter_OneLineAtATime(t *testing.T) {
	var (
		mu  sync.Mutex
		out strings.Builder
		wg  sync.WaitGroup
	)
	for i := range 4 {
		w := &prefixWriter{mu: &mu, w: &out, prefix: "t" + strconv.Itoa(i) + ": "}
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte("a log line\n"))
			}
		})
	}
	wg.Wait()
	for line := range strings.Lines(out.String()) {
		assert.Regexp(t, `^t[0-3]: a log line\n$`, line)
	}
}
