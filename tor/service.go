package tor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AddOnion publishes an onion service with key at virtual port virtPort that
// forwards to target ("127.0.0.1:PORT"; any loopback IP): ADD_ONION
// ED25519-V3:<blob> Flags=DiscardPK Port=virtPort,target. Not Detach: the
// service goes with the control connection (so with the app). It returns the
// service's address ("<56 chars>.onion") and checks tor's ServiceID equals
// key.Address(). A key already served must be removed with DelOnion first.
func (t *Tor) AddOnion(ctx context.Context, key OnionKey, virtPort int, target string) (string, error) {
	if virtPort < 1 || virtPort > 65535 {
		return "", fmt.Errorf("tor: AddOnion: virtual port %d is not 1..65535", virtPort)
	}
	if !loopbackHostPort(target) {
		return "", fmt.Errorf("tor: AddOnion: target %q is not a loopback IP:port", sanitize(target))
	}
	addr := key.Address()
	id := strings.TrimSuffix(addr, ".onion")
	// The service is known before tor is asked, so that an HS_DESC event
	// right after the reply finds it.
	t.mu.Lock()
	if _, dup := t.onions[id]; dup {
		t.mu.Unlock()
		return "", fmt.Errorf("tor: AddOnion: %s is already served", addr)
	}
	t.onions[id] = &onion{}
	t.mu.Unlock()

	svc, err := t.addOnion(ctx, key, virtPort, target)
	var re *replyError
	if err != nil && !errors.As(err, &re) {
		// ctx ended or the connection failed after the command may have
		// gone out: tor may run the service. Removing it (queued after
		// ADD_ONION, so in order) lets a retry start clean.
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = t.ctl.command(dctx, "DEL_ONION", []byte("DEL_ONION "+id))
		cancel()
	}
	if err == nil && svc != id {
		err = fmt.Errorf("tor: ADD_ONION: tor's ServiceID %s is not the key's %s", svc, id)
		// tor runs a service nobody asked for: take it down.
		if _, ok := parseOnion(svc, false); ok {
			_, _ = t.ctl.command(ctx, "DEL_ONION", []byte("DEL_ONION "+svc))
		}
	}
	if err != nil {
		t.mu.Lock()
		delete(t.onions, id)
		t.mu.Unlock()
		return "", err
	}
	return addr, nil
}

// addOnion sends ADD_ONION and returns tor's ServiceID.
func (t *Tor) addOnion(ctx context.Context, key OnionKey, virtPort int, target string) (string, error) {
	blob := key.keyBlob()
	defer clear(blob)
	// Sized once, so that no copy of the blob is left behind by a growing
	// slice; zeroed after the write.
	line := make([]byte, 0, len(blob)+len(target)+64)
	line = append(line, "ADD_ONION ED25519-V3:"...)
	line = append(line, blob...)
	line = append(line, " Flags=DiscardPK Port="...)
	line = strconv.AppendInt(line, int64(virtPort), 10)
	line = append(line, ',')
	line = append(line, target...)
	r, err := t.ctl.command(ctx, "ADD_ONION", line)
	clear(line)
	if err != nil {
		var re *replyError
		if errors.As(err, &re) && bytes.Contains([]byte(re.Text), blob) {
			re.Text = strings.ReplaceAll(re.Text, string(blob), "[key]")
		}
		return "", err
	}
	return parseAddOnion(r)
}

// parseAddOnion finds the one ServiceID of an ADD_ONION reply (control-spec
// 3.27); a PrivateKey line (there should be none with DiscardPK) is ignored
// and never copied anywhere.
func parseAddOnion(r *reply) (string, error) {
	var ids []string
	for _, l := range r.Lines {
		if v, ok := strings.CutPrefix(l.Text, "ServiceID="); ok {
			ids = append(ids, v)
		}
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("tor: ADD_ONION: %w: %d ServiceIDs in the reply", errMalformed, len(ids))
	}
	id, ok := parseOnion(ids[0], false)
	if !ok {
		return "", fmt.Errorf("tor: ADD_ONION: %w: ServiceID %q is not a v3 onion address", errMalformed, sanitize(ids[0]))
	}
	return id, nil
}

// WaitPublished waits for the HS_DESC UPLOADED event of that service (the
// point from which a client can find it), or ctx. The service must have
// been added with AddOnion.
func (t *Tor) WaitPublished(ctx context.Context, onionAddr string) error {
	id, ok := parseOnion(onionAddr, false)
	if !ok {
		return fmt.Errorf("tor: WaitPublished: %q is not a v3 onion address", sanitize(onionAddr))
	}
	for {
		t.mu.Lock()
		o, changed, stopped, stopErr := t.onions[id], t.changed, t.stopped, t.stopErr
		published := o != nil && o.published
		t.mu.Unlock()
		switch {
		case published:
			return nil
		case o == nil:
			return fmt.Errorf("tor: WaitPublished: %s.onion is not served (AddOnion)", id)
		case stopped:
			return fmt.Errorf("tor: tor stopped before %s.onion was published: %w", id, stopErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("tor: waiting for %s.onion to be published: %w", id, ctx.Err())
		}
	}
}

// DelOnion removes an onion service added with AddOnion (DEL_ONION).
func (t *Tor) DelOnion(ctx context.Context, onionAddr string) error {
	id, ok := parseOnion(onionAddr, false)
	if !ok {
		return fmt.Errorf("tor: DelOnion: %q is not a v3 onion address", sanitize(onionAddr))
	}
	_, err := t.ctl.command(ctx, "DEL_ONION", []byte("DEL_ONION "+id))
	var re *replyError
	if err == nil || errors.As(err, &re) {
		// Gone either way: tor removed it, or did not know it.
		t.mu.Lock()
		delete(t.onions, id)
		t.notifyLocked()
		t.mu.Unlock()
	}
	return err
}
