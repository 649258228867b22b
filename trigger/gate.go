package trigger

import lathe "github.com/lathe-ci/lathe"

// gateRoots puts a copy of gate before every job that waits for no other
// job and has no gate of its own, so nothing of the run starts before the
// gate opens. A nil gate changes nothing.
func gateRoots(jobs []*lathe.Job, gate *lathe.Approval) {
	if gate == nil {
		return
	}
	for _, j := range jobs {
		if len(j.Deps) == 0 && j.Approval == nil {
			g := *gate
			g.From = append([]string(nil), gate.From...)
			j.Approval = &g
		}
	}
}
