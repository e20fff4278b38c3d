// Command scbench measures SecureChat against TLS 1.3 and raw TCP in one
// run, prints one table, and with -out writes it into docs/BENCHMARKS.md.
// `make bench` runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/securechat/securechat/internal/bench"
)

func main() {
	out := flag.String("out", "", "write the run into this Markdown file, between its scbench markers")
	only := flag.String("only", "", "comma-separated groups to run: "+strings.Join(bench.Groups, ", ")+" (default all)")
	quick := flag.Bool("quick", false, "a small run that checks the bench works; its figures mean little")
	dir := flag.String("dir", "", "scratch folder for profiles and the fsync file (default: a new temporary folder)")
	cache := flag.String("cache", "", "folder that keeps the scale rows' history fills between runs (default: DIR/cache)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	app := flag.String("app", "bin/securechat", "the memory group: the app, a release build (make build)")
	minimal := flag.String("minimal", "bin/fyneminimal", "the memory group: cmd/fyneminimal built like the app (make fyneminimal)")
	memScript := flag.String("memory-script", "scripts/bench-memory.sh", "the memory group: the script that runs both under Xvfb")
	child := flag.Bool("reopen-child", false, "internal: open the profile DIR, load conversation ID, report time and memory (passphrase on stdin)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: scbench [flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *child {
		if flag.NArg() != 2 {
			fatal(fmt.Errorf("-reopen-child takes DIR and ID"))
		}
		if err := bench.ReopenChild(flag.Arg(0), flag.Arg(1), os.Stdin, os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	o := bench.Options{
		Dir:      *dir,
		CacheDir: *cache,
		Log:      os.Stderr,
		Child: func(dir, id string) *exec.Cmd {
			return exec.Command(self, "-reopen-child", dir, id)
		},
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	if len(o.Only) == 0 || slices.Contains(o.Only, bench.GroupMemory) {
		for _, f := range []string{*app, *minimal, *memScript} {
			if _, err := os.Stat(f); err != nil {
				fatal(fmt.Errorf("the memory group needs %s (make build fyneminimal; or -only without memory): %w", f, err))
			}
		}
		o.MemoryCmd = bench.MemoryCommand(*memScript, *app, *minimal)
	}
	if *quick {
		o.KeygenReps, o.HandshakeReps, o.RTTRounds = 2, 3, 50
		o.ThroughputReps, o.ThroughputMsgs, o.HistoryMsgs = 2, 2000, 10000
		o.UnlockReps, o.OutboxReps = 2, 2
		o.ScaleSizes, o.ScaleReps = []int{2000, 10000}, 1
		o.MemoryRuns, o.MemoryIdle = 1, 3*time.Second
		o.TorStarts, o.TorHandshakes, o.TorRounds, o.TorIdle = 1, 3, 20, 3*time.Second
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(o)
	if err != nil {
		fatal(err)
	}
	fmt.Print(rep.Markdown())
	if *out != "" {
		if err := bench.UpdateDoc(*out, rep); err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "scbench:", err)
	os.Exit(1)
}
