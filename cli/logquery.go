package cli

import (
	"net/url"
	"strconv"
)

// logQuery is how `lathe logs` reads each job's log: whole or one step's
// part, of one attempt or of each, with or without the time each line
// reached the server.
type logQuery struct {
	step       int // -1: the whole log
	attempt    int // 0: the latest (following: every attempt in turn)
	timestamps bool
}

// String is the query string of a log read or stream ("" for the whole
// log as it is).
func (q logQuery) String() string {
	v := url.Values{}
	if q.step >= 0 {
		v.Set("step", strconv.Itoa(q.step))
	}
	if q.attempt > 0 {
		v.Set("attempt", strconv.Itoa(q.attempt))
	}
	if q.timestamps {
		v.Set("timestamps", "true")
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// flags are the `lathe logs` flags that ask for q.
func (q logQuery) flags() string {
	s := ""
	if q.step >= 0 {
		s += " --step " + strconv.Itoa(q.step)
	}
	if q.attempt > 0 {
		s += " --attempt " + strconv.Itoa(q.attempt)
	}
	if q.timestamps {
		s += " --timestamps"
	}
	return s
}
