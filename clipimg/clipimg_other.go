//go:build !(linux || freebsd || openbsd || netbsd || dragonfly)

package clipimg

import (
	"context"
	"fmt"
	"runtime"
)

// Hint says what to install for pictures to paste: nothing would help
// here.
const Hint = ""

func read(context.Context) (Picture, error) {
	return Picture{}, fmt.Errorf("%w on %s yet", ErrUnsupported, runtime.GOOS)
}
