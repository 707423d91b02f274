package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/serve"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// minisign runs Debian's minisign with stdin (passwords) and fails the
// test unless it succeeds.
func minisign(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	bin := servetest.NeedTool(t, "minisign", "minisign")
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("minisign %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	st, out, errOut := edgeinfer(args...)
	if st != 0 {
		t.Fatalf("edgeinfer %v: status %d: %s", args, st, errOut)
	}
	return out
}

// Keys and signatures go both ways between edgeinfer and Debian's
// minisign, encrypted keys included; verify refuses tampered bytes, a
// wrong key and a missing signature.
func TestSignVerifyMinisignInterop(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	model := at("m.eim")
	mustRun(t, "zoo", "vit-micro", "-o", model)
	pw := at("pw")
	os.WriteFile(pw, []byte("correct horse\n"), 0o600)

	// Ours, checked by minisign.
	mustRun(t, "keygen", "-o", at("ours.key"))
	mustRun(t, "sign", "--key", at("ours.key"), model)
	if out := minisign(t, "", "-V", "-p", at("ours.key.pub"), "-m", model); !strings.Contains(out, "Signature and comment signature verified") {
		t.Errorf("minisign -V: %s", out)
	}
	mustRun(t, "verify", "--trust", at("ours.key.pub"), model)
	if st, _, _ := edgeinfer("keygen", "-o", at("ours.key")); st != 1 {
		t.Errorf("keygen over an existing key: status %d, want 1", st)
	}

	// Password-protected keys both ways. minisign's scrypt parameters (1 GiB,
	// 2^25 operations) take half a minute per key on a loaded CI core, so
	// these four key operations run on request.
	if os.Getenv("EDGEINFER_MINISIGN_ENCRYPTED") != "" {
		mustRun(t, "keygen", "-o", at("enc.key"), "--password-file", pw)
		minisign(t, "correct horse\n", "-S", "-s", at("enc.key"), "-m", model, "-x", at("by-minisign.sig"))
		os.Rename(at("by-minisign.sig"), model+".minisig")
		mustRun(t, "verify", "--trust", at("enc.key.pub"), model)
		minisign(t, "correct horse\ncorrect horse\n", "-G", "-p", at("mse.pub"), "-s", at("mse.key"))
		if st, _, errOut := edgeinfer("sign", "--key", at("mse.key"), model); st != 1 || !strings.Contains(errOut, "encrypted") {
			t.Errorf("sign with an encrypted key and no password: %d %s", st, errOut)
		}
		mustRun(t, "sign", "--key", at("mse.key"), "--password-file", pw, model)
		minisign(t, "", "-V", "-p", at("mse.pub"), "-m", model)
	} else {
		t.Log("password-protected keys not tried (EDGEINFER_MINISIGN_ENCRYPTED=1 does, ~2 minutes)")
	}

	// minisign's unencrypted key (-W), used by our sign.
	minisign(t, "", "-G", "-W", "-p", at("ms.pub"), "-s", at("ms.key"))
	mustRun(t, "sign", "--key", at("ms.key"), model)
	minisign(t, "", "-V", "-p", at("ms.pub"), "-m", model)
	mustRun(t, "verify", "--trust", at("ours.key.pub")+","+at("ms.pub"), model)
	// A signature minisign made with its own key.
	minisign(t, "", "-S", "-s", at("ms.key"), "-m", model)
	mustRun(t, "verify", "--trust", at("ms.pub"), model)

	// Rejections: exit 1, a line saying why.
	data, _ := os.ReadFile(model)
	for _, tc := range []struct {
		name, trust, want string
		prep              func()
	}{
		{"wrong key", at("ours.key.pub"), "not among the trusted keys", func() {}},
		{"tampered byte", at("ms.pub"), "do not match", func() {
			b := append([]byte(nil), data...)
			b[len(b)/2] ^= 1
			os.WriteFile(model, b, 0o644)
		}},
		{"truncated", at("ms.pub"), "do not match", func() { os.WriteFile(model, data[:len(data)-100], 0o644) }},
		{"missing signature", at("ms.pub"), "no signature file", func() { os.Remove(model + ".minisig") }},
	} {
		tc.prep()
		st, _, errOut := edgeinfer("verify", "--trust", tc.trust, model)
		if st != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: status %d, %q; want 1 and %q", tc.name, st, errOut, tc.want)
		}
		os.WriteFile(model, data, 0o644)
	}
}

// serve --trust refuses, at start, a model without a valid signature
// (exit 1, before parsing it), and runs the last accepted update of the
// configured model.
func TestServeTrustAtStart(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "keygen", "-o", at("k"))
	mustRun(t, "zoo", "vit-micro", "-o", at("vit.eim"))
	mustRun(t, "zoo", "cnn-micro", "-o", at("cnn.eim"))
	base := []string{"serve", "--camera", "synthetic:box?w=64&h=48&fmt=YUYV", "--frames", "2", "--state", at("state"), "--trust", at("k.pub")}
	run := func(model string) (int, string) {
		st, _, errOut := edgeinfer(append(base, "--model", model)...)
		return st, errOut
	}
	if st, e := run(at("vit.eim")); st != 1 || !strings.Contains(e, "no signature file") {
		t.Errorf("unsigned: %d %s", st, e)
	}
	if st, e := run("zoo:vit-micro"); st != 2 || !strings.Contains(e, "signed .eim") {
		t.Errorf("zoo model with --trust: %d %s", st, e)
	}
	mustRun(t, "sign", "--key", at("k"), at("vit.eim"), at("cnn.eim"))
	vit, _ := os.ReadFile(at("vit.eim"))
	os.WriteFile(at("vit.eim"), append(vit, 0), 0o644)
	if st, e := run(at("vit.eim")); st != 1 || !strings.Contains(e, "do not match") {
		t.Errorf("tampered: %d %s", st, e)
	}
	os.WriteFile(at("vit.eim"), vit, 0o644)
	if st, e := run(at("vit.eim")); st != 0 {
		t.Fatalf("signed: %d %s", st, e)
	}
	// An update accepted earlier (as serve stores it) runs instead.
	cnn, _ := os.ReadFile(at("cnn.eim"))
	sig, _ := os.ReadFile(at("cnn.eim.minisig"))
	if err := serve.SaveAccepted(at("state"), cnn, sig, serve.SHA256Hex(vit)); err != nil {
		t.Fatal(err)
	}
	if st, e := run(at("vit.eim")); st != 0 || !strings.Contains(e, "running the last accepted update "+serve.SHA256Hex(cnn)[:12]) || !strings.Contains(e, "cnn-micro") {
		t.Errorf("with an accepted update: %d %s", st, e)
	}
	// Another --model than the one it replaced: that one runs.
	if st, e := run(at("cnn.eim")); st != 0 || strings.Contains(e, "last accepted") {
		t.Errorf("another --model: %d %s", st, e)
	}
}
