package sqldb_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestVerifyFullURL checks that the driver takes the URL form deploy/azure builds: TLS verified
// against the CA bundle at the path of the image's base (distroless/static, as on Debian) and
// the server's host name, with no fallback to an unverified or plain connection.
func TestVerifyFullURL(t *testing.T) {
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err != nil {
		t.Skipf("no CA bundle at %s on this machine: %v", bundle, err)
	}
	const host = "dtbt-postgresql.postgres.database.azure.com"
	cfg, err := pgconn.ParseConfig("postgres://dtbase_app:pw@" + host + ":5432/dtdb?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fcerts%2Fca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.TLSConfig
	if tc == nil || tc.InsecureSkipVerify || tc.ServerName != host || tc.RootCAs == nil {
		t.Fatalf("TLS config %+v: want verification of %s against the bundle", tc, host)
	}
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil || fb.TLSConfig.InsecureSkipVerify {
			t.Errorf("fallback %s:%d without verified TLS", fb.Host, fb.Port)
		}
	}
}
