package pgtest

import "fmt"

// Pause stops the server as a database outage would (a fast shutdown that
// drops every client connection) but keeps its data and its port, so Resume
// brings the same databases back at the same URLs. Use it on a cluster of
// the test's own (Start), never on Shared: other tests use that one.
// Pause and Resume are called from the test's goroutine, one after the other.
func (c *Cluster) Pause() error {
	if c.paused {
		return fmt.Errorf("pgtest: cluster already paused")
	}
	if err := c.srv.shutdown(); err != nil {
		return fmt.Errorf("pgtest: pause: %w", err)
	}
	c.paused = true
	return nil
}

// Resume starts a paused cluster again on its port.
func (c *Cluster) Resume() error {
	if !c.paused {
		return fmt.Errorf("pgtest: cluster not paused")
	}
	srv, err := startServer(c.binDir, c.dir, c.cred, c.srv.port)
	if err != nil {
		return fmt.Errorf("pgtest: resume: %w", err)
	}
	c.srv, c.paused = srv, false
	return nil
}
