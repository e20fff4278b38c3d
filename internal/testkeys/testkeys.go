// Package testkeys gives tests fixed RSA-3072 identities, so that they do
// not spend seconds generating keys. The keys are crypto/testdata's, written
// by that package's vector generator; they protect nothing.
package testkeys

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	scrypto "github.com/securechat/securechat/crypto"
)

var (
	mu    sync.Mutex
	cache = map[string]*scrypto.Identity{}
)

// Names lists the identities of crypto/testdata.
var Names = []string{"alice", "bob", "mallory"}

// Extra lists more identities, in this package's testdata (written by
// ./gen), for tests with many partners.
var Extra = []string{"carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// Identity returns the fixed identity called name (one of [Names] or
// [Extra]). It panics if the testdata is missing: a broken checkout.
func Identity(name string) *scrypto.Identity {
	mu.Lock()
	defer mu.Unlock()
	if id, ok := cache[name]; ok {
		return id
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "crypto", "testdata", "identity-"+name+".hex")
	if slices.Contains(Extra, name) {
		path = filepath.Join(filepath.Dir(file), "testdata", "identity-"+name+".hex")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("testkeys: %v", err))
	}
	der, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		panic(fmt.Sprintf("testkeys: %s: %v", path, err))
	}
	id, err := scrypto.ParseIdentity(der)
	if err != nil {
		panic(fmt.Sprintf("testkeys: %s: %v", path, err))
	}
	cache[name] = id
	return id
}
