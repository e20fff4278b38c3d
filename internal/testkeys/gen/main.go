// Command gen writes the extra test identities of package testkeys to
// internal/testkeys/testdata, those that are missing. Run it from the
// repository root: go run ./internal/testkeys/gen
//
// The keys protect nothing; they spare tests seconds of RSA key generation.
package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	scrypto "github.com/securechat/securechat/crypto"
	"github.com/securechat/securechat/internal/testkeys"
)

func main() {
	dir := filepath.Join("internal", "testkeys", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, n := range testkeys.Extra {
		path := filepath.Join(dir, "identity-"+n+".hex")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		id, err := scrypto.GenerateIdentity(nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		der, err := id.MarshalPrivate()
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(der)+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
