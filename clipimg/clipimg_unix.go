//go:build linux || freebsd || openbsd || netbsd || dragonfly

package clipimg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Hint says what to install for pictures to paste.
const Hint = "install wl-clipboard (Wayland) or xclip (X11)"

// toolTimeout bounds each run of a clipboard tool: an owner of the
// clipboard that does not answer must not keep the paste waiting.
var toolTimeout = 5 * time.Second

// tool is a clipboard program: how to list the clipboard's types and how
// to read one of them.
type tool struct {
	name string
	list []string
	get  func(mediaType string) []string
}

var (
	wlPaste = tool{name: "wl-paste", list: []string{"--list-types"},
		get: func(t string) []string { return []string{"--no-newline", "--type", t} }}
	xclip = tool{name: "xclip", list: []string{"-selection", "clipboard", "-t", "TARGETS", "-o"},
		get: func(t string) []string { return []string{"-selection", "clipboard", "-t", t, "-o"} }}
)

// tools are the ones that can serve this session: wl-paste under Wayland,
// xclip under X11 (and Xwayland), in that order.
func tools() []tool {
	var ts []tool
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		ts = append(ts, wlPaste)
	}
	if os.Getenv("DISPLAY") != "" {
		ts = append(ts, xclip)
	}
	return ts
}

func read(ctx context.Context) (Picture, error) {
	found := false
	for _, t := range tools() {
		path, err := exec.LookPath(t.name)
		if err != nil {
			continue
		}
		found = true
		p, err := readWith(ctx, path, t)
		if errors.Is(err, ErrNoPicture) {
			continue // the other display server's clipboard may have it
		}
		return p, err
	}
	if !found {
		return Picture{}, fmt.Errorf("%w: %s", ErrUnsupported, Hint)
	}
	return Picture{}, ErrNoPicture
}

// readWith asks the tool at path for the clipboard's types, then for the
// best picture type among them.
func readWith(ctx context.Context, path string, t tool) (Picture, error) {
	out, err := run(ctx, path, t.list, 64<<10)
	if err != nil {
		return Picture{}, ErrNoPicture // an empty clipboard is an error to both tools
	}
	var types []string
	for line := range strings.Lines(string(out)) {
		types = append(types, strings.TrimSpace(line))
	}
	for _, mt := range wanted {
		if !slices.Contains(types, mt) {
			continue
		}
		data, err := run(ctx, path, t.get(mt), MaxBytes)
		if err != nil {
			return Picture{}, err
		}
		return sniff(data)
	}
	return Picture{}, ErrNoPicture
}

// run runs the tool with args and returns its output, at most limit
// bytes (ErrTooLarge beyond).
func run(ctx context.Context, path string, args []string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 1024}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("clipimg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("clipimg: %w", err)
	}
	data, rerr := io.ReadAll(io.LimitReader(stdout, limit+1))
	if int64(len(data)) > limit {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, ErrTooLarge
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("clipimg: %s did not answer within %s", path, toolTimeout)
	case rerr != nil:
		return nil, fmt.Errorf("clipimg: reading from %s: %w", path, rerr)
	case werr != nil:
		return nil, fmt.Errorf("clipimg: %s: %w: %s", path, werr, strings.TrimSpace(stderr.String()))
	}
	return data, nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
