//go:build unix && !linux

package tornet

import "syscall"

// sysProcAttr puts each tor in its own process group. There is no
// Pdeathsig here: __OwningControllerProcess in its torrc makes a tor exit
// within about 15 s of the test process's death.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
