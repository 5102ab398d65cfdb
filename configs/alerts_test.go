package configs

import (
	"os/exec"
	"testing"
)

// TestAlertRules runs the unit tests of the Prometheus alert rules with
// promtool, which Debian's prometheus package installs; .ci/run installs it.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus); the alert rules are not tested")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v failed: %v\n%s", args, err, out)
		}
	}
}
