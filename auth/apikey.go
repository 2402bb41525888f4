package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// APIKeyPrefix starts every API key secret, so a bearer token is known to be
// a key without trying to parse it as a JWT.
const APIKeyPrefix = "dtb_"

// NewAPIKeySecret returns a new API key and the hash that is stored for it.
// Keys carry 256 random bits, so a fast hash is enough.
func NewAPIKeySecret() (secret string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	secret = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashAPIKey(secret)
}

// HashAPIKey returns the stored hash of an API key secret.
func HashAPIKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// APIKeyDisplayPrefix is the part of a secret kept to recognise it in a list.
func APIKeyDisplayPrefix(secret string) string { return secret[:len(APIKeyPrefix)+6] }

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
