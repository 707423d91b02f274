package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgeinfer/edgeinfer/serve"
)

func init() {
	commands["keygen"] = command{summary: "make a minisign key pair for signing models (KEY and KEY.pub)", run: cmdKeygen}
	commands["sign"] = command{summary: "sign a model with a minisign secret key (writes MODEL.minisig)", run: cmdSign}
	commands["verify"] = command{summary: "check a model's minisign signature against trusted keys (exit 0 valid, 1 not)", run: cmdVerify}
}

func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	out := fs.String("o", "", "secret key file to write (the public key goes to the same name + .pub)")
	passFile := fs.String("password-file", "", "encrypt the secret key with the password in this file (default: unencrypted, like minisign -W)")
	force := fs.Bool("f", false, "overwrite existing key files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usagef("usage: edgeinfer keygen -o KEY [--password-file F] [-f]")
	}
	pass := ""
	if *passFile != "" {
		var err error
		if pass, err = readSecret(*passFile); err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
	}
	pub, sec, err := serve.GenerateKey(pass)
	if err != nil {
		return err
	}
	for _, p := range []string{*out, *out + ".pub"} {
		if _, err := os.Stat(p); err == nil && !*force {
			return fmt.Errorf("%s exists (-f overwrites)", p)
		}
	}
	// The secret key first: written through a private temporary file.
	if err := serve.WriteAtomic(*out, sec); err != nil {
		return err
	}
	if err := serve.WriteAtomic(*out+".pub", pub); err != nil {
		return err
	}
	if err := os.Chmod(*out+".pub", 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "secret key %s, public key %s.pub:\n%s", *out, *out, pub)
	return nil
}

func cmdSign(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sign", stderr)
	key := fs.String("key", "", "minisign secret key file (from edgeinfer keygen or minisign -G)")
	passFile := fs.String("password-file", "", "file holding the secret key's password, when it is encrypted")
	models, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *key == "" || len(models) == 0 {
		return usagef("usage: edgeinfer sign --key KEY MODEL...")
	}
	keyText, err := os.ReadFile(*key)
	if err != nil {
		return err
	}
	pass := ""
	if *passFile != "" {
		if pass, err = readSecret(*passFile); err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
	}
	for _, m := range models {
		data, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		sig, err := serve.Sign(keyText, pass, data, m)
		if err != nil {
			return fmt.Errorf("%s: %w", *key, err)
		}
		if err := serve.WriteAtomic(m+serve.SignatureSuffix, sig); err != nil {
			return err
		}
		if err := os.Chmod(m+serve.SignatureSuffix, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s%s\n", m, serve.SignatureSuffix)
	}
	return nil
}

func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	trust := fs.String("trust", "", "trusted public key files, comma-separated")
	models, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *trust == "" || len(models) == 0 {
		return usagef("usage: edgeinfer verify --trust KEY.pub[,KEY2.pub] MODEL...")
	}
	t, err := serve.LoadTrust(strings.Split(*trust, ","))
	if err != nil {
		return err
	}
	var bad error
	for _, m := range models {
		if _, err := t.ReadVerified(m); err != nil {
			bad = errors.Join(bad, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: signature verified\n", m)
	}
	return bad
}
