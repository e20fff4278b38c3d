package ui

import (
	"errors"
	"net"
	"os"
	"path/filepath"

	"github.com/securechat/securechat/session"
)

// ProfileEnv names the environment variable that points the app at another
// profile folder (tests, screenshots, a second instance on one machine).
const ProfileEnv = "SECURECHAT_PROFILE"

var errNotYet = errors.New("not available in this build yet")

// RealBackend wires the app to the profile vault and the session package.
func RealBackend() Backend {
	return Backend{
		ProfileDir: func() (string, error) {
			if d := os.Getenv(ProfileEnv); d != "" {
				return d, nil
			}
			d, err := os.UserConfigDir()
			if err != nil {
				return "", err
			}
			return filepath.Join(d, "securechat"), nil
		},
		Exists: func(dir string) bool {
			_, err := os.Stat(filepath.Join(dir, "profile"))
			return err == nil
		},
		Create: func(dir, name string, passphrase []byte) (Vault, error) { return nil, errNotYet },
		Open:   func(dir string, passphrase []byte) (Vault, error) { return nil, errNotYet },
		Host: func(v Vault, listenAddr string) (session.Controller, error) {
			return nil, errNotYet
		},
		Connect: func(v Vault, addr string) (session.Controller, error) {
			return nil, errNotYet
		},
		LocalAddrs: localAddrs,
	}
}

// localAddrs lists this machine's non-loopback addresses, IPv4 first.
func localAddrs() []string {
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, a := range ifaces {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
			continue
		}
		if ipn.IP.To4() != nil {
			v4 = append(v4, ipn.IP.String())
		} else {
			v6 = append(v6, ipn.IP.String())
		}
	}
	out := append(v4, v6...)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
