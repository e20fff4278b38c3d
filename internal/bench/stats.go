package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// samples are repeated measurements of one quantity.
type samples []time.Duration

// quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method:
// the smallest sample that at least q of the samples do not exceed.
func (s samples) quantile(q float64) time.Duration { return quantile(s, q) }

func quantile[T cmp.Ordered](s []T, q float64) T {
	if len(s) == 0 {
		var zero T
		return zero
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func (s samples) median() time.Duration { return s.quantile(0.5) }

// fmtDur prints a duration with three significant digits in a unit that
// suits it.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3g s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3g ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3g µs", float64(d)/float64(time.Microsecond))
	}
}

// fmtRatio prints a ratio such as "1.42×".
func fmtRatio(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// rate is a throughput: messages of a given size per second.
type rate struct {
	msgs float64 // messages per second
	size int     // bytes per message
}

func (r rate) String() string {
	return fmt.Sprintf("%.0f msg/s (%.1f MiB/s)", r.msgs, r.msgs*float64(r.size)/(1<<20))
}

// throughput turns the time taken for n messages into a rate.
func throughput(n, size int, d time.Duration) rate {
	return rate{msgs: float64(n) / d.Seconds(), size: size}
}
