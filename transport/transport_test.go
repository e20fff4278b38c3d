package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pipe(t *testing.T) (*Conn, *Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewConn(a), NewConn(b)
}

func TestFrame_RoundTripsBoundaryLengths(t *testing.T) {
	for _, n := range []int{1, 2, MaxFrameSize - 1, MaxFrameSize} {
		a, b := pipe(t)
		p := bytes.Repeat([]byte{0xab}, n)
		go func() { _ = a.WriteFrame(p) }()
		got, err := b.ReadFrame()
		require.NoError(t, err, "length %d", n)
		assert.Equal(t, p, got)
	}
}

func TestFrame_OversizedAndEmptyAreRefused(t *testing.T) {
	a, _ := pipe(t)
	require.ErrorIs(t, a.WriteFrame(make([]byte, MaxFrameSize+1)), ErrFrameTooLarge)
	require.ErrorIs(t, a.WriteFrame(nil), ErrEmptyFrame)

	for _, n := range []uint32{MaxFrameSize + 1, 1 << 30, 0xffffffff} {
		hdr := binary.BigEndian.AppendUint32(nil, n)
		c := NewConn(&fakeConn{r: bytes.NewReader(hdr)})
		_, err := c.ReadFrame()
		require.ErrorIs(t, err, ErrFrameTooLarge)
	}
	c := NewConn(&fakeConn{r: bytes.NewReader([]byte{0, 0, 0, 0})})
	_, err := c.ReadFrame()
	require.ErrorIs(t, err, ErrEmptyFrame)
}

func TestFrame_OversizeIsRefusedBeforeAllocating(t *testing.T) {
	// Only the header arrives: the reader must refuse it without allocating
	// or waiting for the gigabyte it announces.
	hdr := binary.BigEndian.AppendUint32(nil, 1<<30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		c := NewConn(&fakeConn{r: bytes.NewReader(hdr)})
		_, err := c.ReadFrame()
		require.ErrorIs(t, err, ErrFrameTooLarge)
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestFrame_TruncatedStreamIsUnexpectedEOF(t *testing.T) {
	full := Frame([]byte("hello"))
	for n := 1; n < len(full); n++ {
		c := NewConn(&fakeConn{r: bytes.NewReader(full[:n])})
		_, err := c.ReadFrame()
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut at %d", n)
	}
	c := NewConn(&fakeConn{r: bytes.NewReader(nil)})
	_, err := c.ReadFrame()
	require.ErrorIs(t, err, io.EOF)
}

func TestNormalizeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":       "127.0.0.1:9999",
		"127.0.0.1:1234":  "127.0.0.1:1234",
		"example.org":     "example.org:9999",
		"::1":             "[::1]:9999",
		"[::1]":           "[::1]:9999",
		"[::1]:80":        "[::1]:80",
		" localhost:9 ":   "localhost:9",
		"fe80::1%eth0":    "[fe80::1%eth0]:9999",
		"192.168.1.2:999": "192.168.1.2:999",
	} {
		got, err := NormalizeAddr(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "  ", ":9999", "host:0", "host:65536", "host:port", "a b:1"} {
		_, err := NormalizeAddr(bad)
		assert.Error(t, err, bad)
	}
}

func TestParsePort_Boundaries(t *testing.T) {
	for s, ok := range map[string]bool{"0": false, "1": true, "9999": true, "65535": true, "65536": false, "-1": false, "x": false, "": false} {
		_, err := ParsePort(s)
		assert.Equal(t, ok, err == nil, s)
	}
}

func TestListenDial_IPv4AndIPv6(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			l, err := Listen(addr)
			if err != nil && addr == "[::1]:0" {
				t.Skip("no IPv6 loopback on this machine")
			}
			require.NoError(t, err)
			defer l.Close()
			done := make(chan []byte, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					done <- nil
					return
				}
				defer c.Close()
				f, _ := c.ReadFrame()
				done <- f
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := Dial(ctx, l.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.WriteFrame([]byte("hi")))
			assert.Equal(t, []byte("hi"), <-done)
		})
	}
}

func TestLocalAddrs_IncludesLoopbackLast(t *testing.T) {
	addrs := LocalAddrs(9999)
	require.NotEmpty(t, addrs)
	assert.Contains(t, addrs, "127.0.0.1:9999")
}

// FuzzReadFrame: any byte stream gives frames within the limit or an error.
func FuzzReadFrame(f *testing.F) {
	f.Add(Frame([]byte("hello")))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0x16, 0x03, 0x01, 0x02, 0x00})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, stream []byte) {
		c := NewConn(&fakeConn{r: bytes.NewReader(stream)})
		total := 0
		for {
			fr, err := c.ReadFrame()
			if err != nil {
				break
			}
			if len(fr) == 0 || len(fr) > MaxFrameSize {
				t.Fatalf("frame of %d bytes", len(fr))
			}
			total += HeaderSize + len(fr)
			if total > len(stream) {
				t.Fatalf("read more than the stream held")
			}
		}
	})
}

// fakeConn is a net.Conn reading from r.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (f *fakeConn) Read(p []byte) (int, error)         { return f.r.Read(p) }
func (f *fakeConn) Close() error                       { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error    { return nil }
func (f *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

func TestIsOnion(t *testing.T) {
	onion := "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
	for in, want := range map[string]bool{
		onion:                    true,
		onion + ":9999":          true,
		strings.ToUpper(onion):   true,
		onion + ".":              true,
		"[" + onion + "]:9999":   true,
		"x.onion":                true,
		"192.0.2.7:9999":         false,
		"example.org":            false,
		"onion.example.org:9999": false,
		"[::1]:9999":             false,
	} {
		assert.Equal(t, want, IsOnion(in), in)
	}
}

// TestDial_NeverResolvesAnOnion: a .onion handed to Dial is refused before
// any lookup, so that the system's resolver never sees it.
func TestDial_NeverResolvesAnOnion(t *testing.T) {
	_, err := Dial(context.Background(), "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion:9999")
	assert.ErrorIs(t, err, ErrOnion)
}
