package embedded

import (
	"testing"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/keys/keystest"
)

func TestKeyStore(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (a, b keys.Store) {
		db := openDB(t, t.TempDir())
		return NewKeyStore(db), NewKeyStore(db)
	})
}

// TestKeySpendSurvivesRestart: a month's spend is on disk, the minute's
// counts are not.
func TestKeySpendSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := NewKeyStore(db)
	a := keys.Admission{ID: "key_1", Window: "202612061200", Period: "2026-12", RPM: 1, BudgetNano: 100}
	if _, err := s.Admit(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(t.Context(), keys.Settlement{ID: a.ID, Window: a.Window, Period: a.Period, CostNano: 100}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = NewKeyStore(openDB(t, dir))
	v, err := s.Admit(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if v.Refused != keys.RefusedBudget || v.SpentNano != 100 {
		t.Errorf("after a restart: %+v; want refused by the budget with 100 spent", v)
	}
}
