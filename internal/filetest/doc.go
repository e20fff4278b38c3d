// Package filetest holds the end-to-end test of issue 14's file transfers
// from the terminal: two SecureChat processes (this test binary run again
// as the securechat command line) move a 200 MB file over loopback while
// the receiver is killed with SIGKILL half-way and started again; the
// transfer resumes where the receiver's durable bytes ended, and the copy
// the receiver saves has the original's SHA-256. It also holds both
// processes' peak memory to their idle figure plus 64 MiB. Linux only.
package filetest
