package gw

// HS256 JWTs with OpenIM's claims (NOTES.md §1.5), written on crypto/hmac
// and encoding/json only.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Claims are OpenIM's token claims.
type Claims struct {
	UserID     string `json:"UserID"`
	PlatformID int    `json:"PlatformID"`
	Exp        int64  `json:"exp"`
	Nbf        int64  `json:"nbf"`
	Iat        int64  `json:"iat"`
	// Jti makes two tokens issued in the same second differ (revocation
	// and kick invalidation are per token). Not an OpenIM claim.
	Jti string `json:"jti,omitempty"`
}

// Token verification failures, mapped to handshake codes by the server.
var (
	ErrTokenMalformed = errors.New("token malformed")
	ErrTokenSignature = errors.New("token signature invalid")
	ErrTokenExpired   = errors.New("token expired")
	ErrTokenNotValid  = errors.New("token not valid yet")
)

var b64 = base64.RawURLEncoding

// jwtHeader is the fixed header of every token the simulator issues.
const jwtHeader = `{"alg":"HS256","typ":"JWT"}`

// SignToken returns a compact HS256 JWT of c signed with secret.
func SignToken(secret []byte, c Claims) string {
	body, _ := json.Marshal(c)
	s := b64.EncodeToString([]byte(jwtHeader)) + "." + b64.EncodeToString(body)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s))
	return s + "." + b64.EncodeToString(m.Sum(nil))
}

// NewClaims builds the claims of a token valid for ttl from now (a
// negative ttl gives an already expired token).
func NewClaims(user string, platform int, ttl time.Duration, now time.Time) Claims {
	return Claims{UserID: user, PlatformID: platform, Exp: now.Add(ttl).Unix(),
		Nbf: now.Add(-time.Minute).Unix(), Iat: now.Unix()}
}

// VerifyToken checks the signature, alg, expiry and not-before of tok and
// returns its claims. The signature is checked before anything else.
func VerifyToken(secret []byte, tok string, now time.Time) (Claims, error) {
	var c Claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, ErrTokenMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return c, ErrTokenMalformed
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return c, ErrTokenSignature
	}
	hdr, err := b64.DecodeString(parts[0])
	if err != nil {
		return c, ErrTokenMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS256" {
		return c, ErrTokenMalformed
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, ErrTokenMalformed
	}
	if c.Exp != 0 && now.Unix() >= c.Exp {
		return c, ErrTokenExpired
	}
	if c.Nbf != 0 && now.Unix() < c.Nbf {
		return c, ErrTokenNotValid
	}
	return c, nil
}
