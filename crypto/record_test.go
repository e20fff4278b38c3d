package crypto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func channelPair(t testing.TB) (*Sealer, *Opener) {
	t.Helper()
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewSealer(key)
	require.NoError(t, err)
	o, err := NewOpener(key)
	require.NoError(t, err)
	return s, o
}

func TestRecord_BoundaryLengthsRoundTrip(t *testing.T) {
	s, o := channelPair(t)
	for _, n := range []int{0, 1, 15, 16, 17, 65535, 65536, 65537} {
		pt := bytes.Repeat([]byte{'x'}, n)
		rec, err := s.Seal(pt)
		require.NoError(t, err)
		assert.Len(t, rec, n+RecordOverhead)
		got, err := o.Open(rec)
		require.NoError(t, err)
		assert.Equal(t, string(pt), string(got))
	}
}

func TestRecord_AnyFlippedBitIsAnAuthenticationError(t *testing.T) {
	s, _ := channelPair(t)
	rec, err := s.Seal([]byte("meet at noon"))
	require.NoError(t, err)
	for i := range rec {
		for bit := 0; bit < 8; bit++ {
			_, o := channelPair(t)
			bad := append([]byte(nil), rec...)
			bad[i] ^= 1 << bit
			_, err := o.Open(bad)
			require.ErrorIs(t, err, ErrRecordAuth, "byte %d bit %d", i, bit)
		}
	}
}

func TestRecord_ReplayReorderAndDropAreDetected(t *testing.T) {
	s, _ := channelPair(t)
	var recs [][]byte
	for _, m := range []string{"one", "two", "three"} {
		r, err := s.Seal([]byte(m))
		require.NoError(t, err)
		recs = append(recs, r)
	}
	for name, order := range map[string][]int{
		"replayed":  {0, 0},
		"reordered": {1},
		"dropped":   {0, 2},
	} {
		t.Run(name, func(t *testing.T) {
			_, o := channelPair(t)
			last := len(order) - 1
			for _, i := range order[:last] {
				_, err := o.Open(recs[i])
				require.NoError(t, err)
			}
			_, err := o.Open(recs[order[last]])
			require.ErrorIs(t, err, ErrRecordOrder)
			require.ErrorIs(t, err, ErrRecordAuth)
		})
	}
}

func TestRecord_TruncatedRecordIsAnAuthenticationError(t *testing.T) {
	s, _ := channelPair(t)
	rec, err := s.Seal([]byte("hello"))
	require.NoError(t, err)
	for n := 0; n < len(rec); n++ {
		_, o := channelPair(t)
		_, err := o.Open(rec[:n])
		require.ErrorIs(t, err, ErrRecordAuth, "cut at %d", n)
	}
}

func TestRecord_WrongKeyFails(t *testing.T) {
	s, _ := channelPair(t)
	rec, err := s.Seal([]byte("hello"))
	require.NoError(t, err)
	o, err := NewOpener(bytes.Repeat([]byte{8}, 32))
	require.NoError(t, err)
	_, err = o.Open(rec)
	require.ErrorIs(t, err, ErrRecordAuth)
	_, err = NewSealer([]byte("short"))
	require.Error(t, err)
}

func TestRecord_CleartextAlertIsAnAuthenticationErrorWithoutItsText(t *testing.T) {
	// An unauthenticated alert after the handshake must never reach the
	// user as "the partner refused: <attacker text>".
	_, o := channelPair(t)
	_, err := o.Open(MarshalAlert(Alert{Code: AlertBusy, Reason: "your bank account was closed, call 555-0100 to reopen it"}))
	require.ErrorIs(t, err, ErrRecordAuth)
	assert.NotContains(t, err.Error(), "bank")
	var a *Alert
	assert.False(t, errors.As(err, &a))
}
