package db_test

import (
	"slices"
	"testing"

	"labreview/db"
	"labreview/db/dbtest"
)

// TestTransferTablesMatchTheFormat holds each adapter's transfer table to
// db's table of record kinds: an entry for every kind with records of its
// own, none for a kind whose records travel with another's (file_part),
// and none for a kind the format does not know.
func TestTransferTablesMatchTheFormat(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s db.Store) {
		served := s.(interface{ TransferKinds() []db.RecordKind }).TransferKinds()
		for _, k := range db.RecordKinds {
			has := slices.Contains(served, k)
			switch part := k.PartOf(); {
			case part == "" && !has:
				t.Errorf("record kind %s has no entry in the adapter's transfer table: exports leave it out", k)
			case part != "" && has:
				t.Errorf("record kind %s travels with its %s record, yet has an entry of its own", k, part)
			}
		}
		for _, k := range served {
			if !slices.Contains(db.RecordKinds, k) {
				t.Errorf("the adapter's transfer table has an entry for %q, which db's table of record kinds lacks", k)
			}
		}
		if len(served) == 0 {
			t.Error("the adapter's transfer table is empty")
		}
	})
}

// TestEveryKindHasANoun: counts name every kind in words (export and
// import print them), files included.
func TestEveryKindHasANoun(t *testing.T) {
	for _, k := range db.RecordKinds {
		if n := k.Noun(); n == "" || n == string(k) {
			t.Errorf("kind %s has no noun (%q)", k, n)
		}
	}
}
