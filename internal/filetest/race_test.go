//go:build race

package filetest

// raceOn: the race detector is on (go test -race).
const raceOn = true
