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
	"strings"
	"sync"

	scrypto "github.com/securechat/securechat/crypto"
)

var (
	mu    sync.Mutex
	cache = map[string]*scrypto.Identity{}
)

// Names lists the identities there are.
var Names = []string{"alice", "bob", "mallory"}

// Identity returns the fixed identity called name ("alice", "bob" or
// "mallory"). It panics if the testdata is missing: a broken checkout.
func Identity(name string) *scrypto.Identity {
	mu.Lock()
	defer mu.Unlock()
	if id, ok := cache[name]; ok {
		return id
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "crypto", "testdata", "identity-"+name+".hex")
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
