package engine

import "testing"

func TestEligibleAndWaitReason(t *testing.T) {
	if !Eligible([]string{"linux", "gpu"}, []string{"gpu"}) || Eligible([]string{"linux"}, []string{"linux", "gpu"}) {
		t.Error("Eligible does not mean: has every label the job runs on")
	}
	fleet := [][]string{{"linux"}, {"gpu", "mac"}}
	for _, tt := range []struct {
		runsOn []string
		fleet  [][]string
		want   string
	}{
		{[]string{"linux"}, fleet, ""},
		{nil, nil, "no online agent"},
		{[]string{"arm", "linux", "arm64"}, fleet, "no online agent with labels: arm, arm64"},
		{[]string{"linux", "gpu"}, fleet, "no online agent with all of the labels: linux, gpu"},
	} {
		if got := WaitReason(tt.runsOn, tt.fleet); got != tt.want {
			t.Errorf("WaitReason(%v) = %q; want %q", tt.runsOn, got, tt.want)
		}
	}
}
