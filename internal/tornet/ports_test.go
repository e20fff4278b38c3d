package tornet

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFreePorts_DistinctAcrossCallers(t *testing.T) {
	var (
		mu  sync.Mutex
		all []int
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for range 5 {
				ports, err := freePorts(6)
				assert.NoError(t, err)
				mu.Lock()
				all = append(all, ports...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, all, 4*5*6)
	slices.Sort(all)
	assert.Len(t, slices.Compact(all), 4*5*6, "a port handed out twice")
	for _, p := range all {
		l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
		if assert.NoError(t, err, "port %d is not free for tor", p) {
			_ = l.Close()
		}
	}
}
