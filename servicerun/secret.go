package servicerun

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Sealer encrypts service credentials with AES-256-GCM. The key is derived
// from a secret (DT_SECRET_KEY, or one generated and kept by the server) by
// SHA-256, so any secret of enough entropy will do.
type Sealer struct {
	aead cipher.AEAD
}

// sealVersion starts every sealed value, so the format can change later.
const sealVersion = 1

// sealContext is authenticated with every value: a sealed credential cannot
// be passed off as another kind of secret sealed with the same key.
var sealContext = []byte("dtbase service credential")

// NewSealer returns a sealer keyed by secret, which must not be empty.
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("sealer: empty secret")
	}
	key := sha256.Sum256(secret)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain with a fresh random nonce.
func (s *Sealer) Seal(plain []byte) []byte {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return s.aead.Seal(out, out[1:], plain, sealContext)
}

// Open decrypts a value made by Seal with the same secret.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, errors.New("sealer: not a sealed value")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], sealContext)
	if err != nil {
		return nil, errors.New("sealer: cannot open: wrong key or damaged value")
	}
	return plain, nil
}
