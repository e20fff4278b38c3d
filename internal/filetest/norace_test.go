//go:build !race

package filetest

const raceOn = false
