package gw

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// A headless Chromium page running the KKIM doc's JS client paths (login, text ping, send, push, invite, accept) passes.
func TestChromiumRunsDocJavaScriptClient(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed")
	}
	ts := start(t, Config{})
	ts.s.AddUsers([]User{{UserID: "alice"}, {UserID: "bob"}})
	page := ts.ctl.URL + "/client.html?ws=" + url.QueryEscape(ts.ws) + "&ta=" + url.QueryEscape(ts.token("alice", 5)) +
		"&tb=" + url.QueryEscape(ts.token("bob", 5))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", page)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	m := regexp.MustCompile(`<p id="result">([^<]*)</p>`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^PASS seq=1 room=room_[0-9a-f]{16}$`).Match(m[1]) {
		t.Fatalf("page result %q\n%s", m[1], out)
	}
	if msgs := ts.s.Messages("si_alice_bob"); len(msgs) != 1 || string(msgs[0].Content) != `{"text":"hello from chromium"}` {
		t.Fatal(msgs)
	}
}
