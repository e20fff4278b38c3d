//go:build !unix

package tornet

import "syscall"

// sysProcAttr has nothing to add here: __OwningControllerProcess in each
// torrc makes a tor exit within about 15 s of the test process's death.
func sysProcAttr() *syscall.SysProcAttr { return nil }
