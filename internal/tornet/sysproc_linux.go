//go:build linux

package tornet

import "syscall"

// sysProcAttr puts each tor in its own process group (a Ctrl-C in the
// terminal reaches the test, not the tors directly) and has the kernel
// kill it when the thread that started it dies. Go never ends its threads
// unless a goroutine locked to one exits; startTor is not called from
// such a goroutine, so in practice that is when the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
