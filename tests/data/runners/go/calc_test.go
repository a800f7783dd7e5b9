package calc

import "testing"

func TestTotal(t *testing.T) {
	if got := Total([]float64{1, 2}); got != 3 {
		t.Errorf("Total = %v, want 3", got)
	}
}

func TestMean(t *testing.T) {
	if got := Mean([]float64{2, 4, 6}); got != 4 {
		t.Errorf("Mean = %v, want 4", got)
	}
}
