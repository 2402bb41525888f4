package importdtbase_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/importdtbase"
)

// TestImportDTBaseTextLimits: an original database may hold text over our
// limits (its scenario descriptions and service names are unbounded); the
// import stops naming the row and the field, and keeps nothing, on either
// destination, instead of failing in PostgreSQL's index.
func TestImportDTBaseTextLimits(t *testing.T) {
	for _, c := range []struct{ stmt, want string }{
		{`UPDATE model_scenario SET description = repeat('d', 3000) WHERE id = (SELECT min(id) FROM model_scenario)`, "description is too long: at most 500 characters, got 3000."},
		{`UPDATE sensor SET notes = repeat('n', 10001) WHERE id = (SELECT min(id) FROM sensor)`, "notes is too long: at most 10000 characters, got 10001."},
	} {
		source := originalDTBase(t)
		conn, err := pgx.Connect(context.Background(), source)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(context.Background(), c.stmt)
		conn.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for name, open := range importDestinations(t) {
			db := open(t)
			_, err := importdtbase.Import(context.Background(), db, source, importdtbase.Options{})
			if dtbase.ErrorCode(err) != dtbase.EINVALID || !strings.Contains(dtbase.ErrorMessage(err), c.want) {
				t.Errorf("%s: import: %v, want EINVALID with %q", name, err, c.want)
			}
			if users, _ := db.ListUsers(context.Background()); len(users) != 0 {
				t.Errorf("%s: %d users kept after a failed import", name, len(users))
			}
		}
	}
}
