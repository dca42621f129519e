package feedback

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	got := Summarize([]Count{
		{Side: SideNew, Model: "claude", Verdict: Positive, N: 6},
		{Side: SideNew, Model: "claude", Verdict: Negative, N: 2},
		{Side: SideNew, Model: "llama", Verdict: Neutral, N: 2},
		{Side: SideLegacy, Model: "legacy", Verdict: Negative, N: 1},
		{Side: SideLegacy, Model: "legacy", Verdict: Positive, N: 3},
		{Side: SideNew, Model: "claude", Verdict: Negative, N: 0},
	})
	want := Summary{
		Sides: map[string]Satisfaction{
			SideNew:    {Ratings: 10, Positive: 6, Neutral: 2, Negative: 2, NegativeShare: 0.2},
			SideLegacy: {Ratings: 4, Positive: 3, Negative: 1, NegativeShare: 0.25},
		},
		Models: map[string]Satisfaction{
			"claude": {Ratings: 8, Positive: 6, Negative: 2, NegativeShare: 0.25},
			"llama":  {Ratings: 2, Neutral: 2},
			"legacy": {Ratings: 4, Positive: 3, Negative: 1, NegativeShare: 0.25},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	empty := Summarize(nil)
	if len(empty.Sides) != 2 || len(empty.Models) != 0 {
		t.Errorf("Summarize(nil) = %+v; want both sides at zero and no models", empty)
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		rating  int
		scale   Scale
		want    Verdict
		wantSc  Scale
		wantErr bool
	}{
		{-1, "", Negative, Thumbs, false},
		{0, "", Neutral, Thumbs, false},
		{1, "", Positive, Thumbs, false},
		{2, "", Negative, Stars, false},
		{3, "", Neutral, Stars, false},
		{4, "", Positive, Stars, false},
		{5, "", Positive, Stars, false},
		{1, Stars, Negative, Stars, false},
		{6, "", "", Stars, true},
		{-2, "", "", Thumbs, true},
		{2, Thumbs, "", Thumbs, true},
		{0, Stars, "", Stars, true},
		{3, "ten", "", "ten", true},
	}
	for _, tt := range tests {
		v, sc, err := Judge(tt.rating, tt.scale)
		if v != tt.want || sc != tt.wantSc || (err != nil) != tt.wantErr {
			t.Errorf("Judge(%d, %q) = %q, %q, %v; want %q, %q, error %v", tt.rating, tt.scale, v, sc, err, tt.want, tt.wantSc, tt.wantErr)
		}
	}
}
