package serve

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"
)

// Model signatures are minisign signatures (https://jedisct1.github.io/minisign/),
// made and checked with aead.dev/minisign: keys and signatures made by the
// minisign tool verify here, and ours verify with `minisign -V`.

// ErrUntrusted reports a model whose signature does not verify with any
// trusted key (or that has none).
var ErrUntrusted = errors.New("model signature does not verify")

// SignatureSuffix is appended to a model's path for its signature file.
const SignatureSuffix = ".minisig"

// maxSignatureBytes bounds a signature file (minisign's are ~300 bytes).
const maxSignatureBytes = 4 << 10

// Trust is the set of public keys a model must be signed with (any one).
type Trust struct {
	keys  []minisign.PublicKey
	files []string
}

// LoadTrust reads minisign public key files.
func LoadTrust(paths []string) (*Trust, error) {
	if len(paths) == 0 {
		return nil, errors.New("no trusted key files")
	}
	t := &Trust{}
	for _, p := range paths {
		k, err := minisign.PublicKeyFromFile(p)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %w", p, err)
		}
		t.keys, t.files = append(t.keys, k), append(t.files, p)
	}
	return t, nil
}

// Verify checks sig (the text of a .minisig file) over data. It returns an
// error wrapping ErrUntrusted that says why when no trusted key verifies it.
func (t *Trust) Verify(data, sig []byte) error {
	if len(sig) == 0 {
		return fmt.Errorf("%w: no signature", ErrUntrusted)
	}
	if len(sig) > maxSignatureBytes {
		return fmt.Errorf("%w: signature of %d bytes (minisign's are under 1 KiB)", ErrUntrusted, len(sig))
	}
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return fmt.Errorf("%w: unreadable signature: %v", ErrUntrusted, err)
	}
	for _, k := range t.keys {
		if k.ID() != s.KeyID {
			continue
		}
		if minisign.Verify(k, data, sig) {
			return nil
		}
		return fmt.Errorf("%w: the bytes do not match the signature by key %X (tampered or truncated)", ErrUntrusted, s.KeyID)
	}
	return fmt.Errorf("%w: signed by key %X, which is not among the trusted keys (%s)", ErrUntrusted, s.KeyID, strings.Join(t.files, ", "))
}

// ReadVerified reads the file at path and its signature (path +
// SignatureSuffix) and returns the bytes only if the signature verifies:
// nothing parses them before.
func (t *Trust) ReadVerified(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sig, err := readLimited(path+SignatureSuffix, maxSignatureBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: no signature file %s", path, ErrUntrusted, filepath.Base(path+SignatureSuffix))
	}
	if err != nil {
		return nil, err
	}
	if err := t.Verify(data, sig); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return b, nil
}

// GenerateKey makes a new key pair. With a password the secret key is
// encrypted as minisign encrypts it (scrypt); without, it is stored in
// the clear (minisign -W).
func GenerateKey(password string) (pub, sec []byte, err error) {
	pk, sk, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pub, _ = pk.MarshalText()
	if password != "" {
		sec, err = minisign.EncryptKey(password, sk)
	} else {
		sec, err = sk.MarshalText()
	}
	return append(pub, '\n'), append(sec, '\n'), err
}

// Sign signs data with the secret key in keyText (decrypted with password
// when encrypted) and returns the .minisig text. The signature is of the
// BLAKE2b-512 hash (minisign's default since 0.10), and its trusted
// comment records the time and the file name, as minisign's do.
func Sign(keyText []byte, password string, data []byte, name string) ([]byte, error) {
	var sk minisign.PrivateKey
	if minisign.IsEncrypted(keyText) {
		if password == "" {
			return nil, errors.New("the secret key is encrypted: give its password")
		}
		k, err := minisign.DecryptKey(password, keyText)
		if err != nil {
			return nil, fmt.Errorf("decrypting the secret key: %w", err)
		}
		sk = k
	} else if err := sk.UnmarshalText(keyText); err != nil {
		return nil, fmt.Errorf("reading the secret key: %w", err)
	}
	r := minisign.NewReader(bytes.NewReader(data))
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	trusted := fmt.Sprintf("timestamp:%d\tfile:%s\thashed", time.Now().Unix(), filepath.Base(name))
	untrusted := fmt.Sprintf("signature from edgeinfer secret key %X", sk.ID())
	return r.SignWithComments(sk, trusted, untrusted), nil
}
