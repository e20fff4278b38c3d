package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/securechat/securechat/history"
)

// scaleTag names the cached fills of the scale rows. Change it whenever the
// history file format or the shape of the fill changes, so that an old fill
// is not measured as if it were a new one.
const scaleTag = "hist-v1-shape-v1"

// scaleBurst is the burst size of a scale fill: larger than the append row's,
// so that a million messages are written in about a thousand group commits.
const scaleBurst = 10000

// scalePass is the passphrase of the cached profiles. They hold nothing
// but generated text.
const scalePass = "scbench scale fill"

// scaleMeta is written last into a cached fill's folder: without it the fill
// is incomplete and made again.
type scaleMeta struct {
	Tag      string        `json:"tag"`
	Messages int           `json:"messages"`
	Largest  string        `json:"largest"` // id of the largest conversation
	Fill     time.Duration `json:"fill_ns"`
}

const scaleMetaName = "scbench-fill.json"

// scaleProfile returns a profile of n messages with Argon2id parameters p,
// from the cache folder when an earlier run made it, and says whether it
// was made now and how long that took.
func (r *runner) scaleProfile(n int, kind string, p history.Params) (dir string, meta scaleMeta, made bool, err error) {
	dir = filepath.Join(r.cacheDir(), fmt.Sprintf("%s-%s-%d", scaleTag, kind, n))
	if b, err := os.ReadFile(filepath.Join(dir, scaleMetaName)); err == nil &&
		json.Unmarshal(b, &meta) == nil && meta.Tag == scaleTag && meta.Messages == n {
		return dir, meta, false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", meta, false, err
	}
	start := time.Now()
	v, err := history.CreateWith(dir, "Bench", []byte(scalePass), p)
	if err != nil {
		return "", meta, false, err
	}
	largest, _, err := fillHistoryBursts(v, n, scaleBurst)
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", meta, false, err
	}
	meta = scaleMeta{Tag: scaleTag, Messages: n, Largest: largest, Fill: time.Since(start)}
	b, err := json.Marshal(meta)
	if err != nil {
		return "", meta, false, err
	}
	if err := os.WriteFile(filepath.Join(dir, scaleMetaName), b, 0o600); err != nil {
		return "", meta, false, err
	}
	return dir, meta, true, nil
}

// cacheDir is where the scale fills are kept between runs.
func (r *runner) cacheDir() string {
	if r.o.CacheDir != "" {
		return r.o.CacheDir
	}
	return filepath.Join(r.dir, "cache")
}

// scale adds, for each size, the reopen time excluding unlock and the peak
// memory of the process that reopened the history.
func (r *runner) scale() error {
	if r.o.Child == nil {
		return errors.New("no way to start a child process")
	}
	for _, n := range r.o.ScaleSizes {
		cheapDir, cheap, cheapMade, err := r.scaleProfile(n, "cheap", cheapParams)
		if err != nil {
			return fmt.Errorf("fill of %d messages: %w", n, err)
		}
		defDir, def, defMade, err := r.scaleProfile(n, "default", history.DefaultParams)
		if err != nil {
			return fmt.Errorf("fill of %d messages: %w", n, err)
		}
		fillNote := func(made bool, m scaleMeta) string {
			if made {
				return fmt.Sprintf("made now in %s", fmtDur(m.Fill))
			}
			return fmt.Sprintf("reused from an earlier run (it took %s to make)", fmtDur(m.Fill))
		}
		r.logf(" [%s messages: cheap fill %s, default fill %s]", count(n), fillNote(cheapMade, cheap), fillNote(defMade, def))
		var outs [2][]reopenReport
		late := [2]bool{}
		dirs := [2]string{cheapDir, defDir}
		ids := [2]string{cheap.Largest, def.Largest}
		for i := range r.o.ScaleReps {
			for j := range 2 {
				k := (i + j) % 2
				if late[k] {
					continue
				}
				m, err := runChild(r.o.Child(dirs[k], ids[k]), []byte(scalePass), childTimeout)
				if errors.Is(err, errTimedOut) {
					late[k] = true
					m.Reopen = childTimeout
				} else if err != nil {
					return err
				} else if m.Messages != n/2 {
					return fmt.Errorf("child loaded %d messages, want %d", m.Messages, n/2)
				}
				outs[k] = append(outs[k], m)
			}
		}
		var reo, open, cpu samples
		for _, m := range outs[0] {
			reo = append(reo, m.Reopen)
			open = append(open, m.Open)
			cpu = append(cpu, m.CPU)
		}
		var peaks, openPeaks, heaps []int64
		for _, m := range outs[1] {
			peaks = append(peaks, m.PeakKiB)
			openPeaks = append(openPeaks, m.OpenPeakKiB)
			heaps = append(heaps, int64(m.HeapKiB))
		}
		ours := fmtDur(reo.median())
		if late[0] {
			ours = fmt.Sprintf("> %s (stopped)", fmtDur(childTimeout))
		}
		target1M := n >= 1000000
		row := Row{
			Name: fmt.Sprintf("history: reopen %s messages, excluding unlock", count(n)), Ours: ours,
			Note: fmt.Sprintf("open + list + load the largest conversation (%s messages) in a new process, negligible Argon2id; "+
				"history.Open alone %s; CPU time of the whole child process %s; %d runs; fill %s",
				count(n/2), fmtDur(open.median()), fmtDur(cpu.median()), len(outs[0]), fillNote(cheapMade, cheap)),
		}
		if target1M {
			row.Target, row.Met = "≤ 1 s", verdict(!late[0] && reo.median() <= time.Second)
		}
		r.rep.add(row)
		peak := float64(quantile(peaks, 0.5)) / 1024
		prow := Row{
			Name: fmt.Sprintf("peak memory of the reopening process, %s messages", count(n)),
			Ours: fmt.Sprintf("%.0f MiB", peak),
			Note: fmt.Sprintf("VmHWM of the child that unlocked (DefaultParams), listed and loaded the largest conversation; "+
				"%.0f MiB of it reached during history.Open; Go heap after GC, transcript held, %.0f MiB; %d runs; fill %s",
				float64(quantile(openPeaks, 0.5))/1024, float64(quantile(heaps, 0.5))/1024, len(outs[1]), fillNote(defMade, def)),
		}
		if late[1] {
			prow.Ours = fmt.Sprintf("≥ %.0f MiB (stopped)", peak)
		}
		if target1M {
			prow.Target, prow.Met = "≤ 200 MiB", verdict(!late[1] && peak <= 200)
		}
		r.rep.add(prow)
	}
	return nil
}
