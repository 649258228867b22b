package pipeline

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// timeoutHelp is said in every message about a malformed timeout.
const timeoutHelp = "must be a duration like 10m or 1h30m, or a number of seconds"

// timeout reads `timeout:`: a Go duration string or whole seconds, greater
// than zero and at most MaxTimeout. On error it returns DefaultTimeout.
//
// A timeout with a fraction of a second is rounded up to whole seconds,
// with a warning: the server keeps timeouts in whole seconds, and `lathe
// exec` must time a job out when an agent would, never sooner and never
// with no timeout at all (500ms truncated would be none).
func (w *walker) timeout(n *yaml.Node, path string) time.Duration {
	if !isScalar(n) {
		w.errorf(n, path, "%s, not %s", timeoutHelp, describe(n))
		return DefaultTimeout
	}
	d, ok := parseTimeout(n)
	if !ok {
		w.errorf(n, path, "%s; %q is neither", timeoutHelp, n.Value)
		return DefaultTimeout
	}
	if d <= 0 {
		w.errorf(n, path, "must be greater than zero")
		return DefaultTimeout
	}
	if d > MaxTimeout {
		w.errorf(n, path, "must be at most %s", "72h")
		return DefaultTimeout
	}
	if whole := roundTimeout(d); whole != d {
		w.warnf(n, path, "%s is rounded up to %s: timeouts are whole seconds", n.Value, whole)
		d = whole
	}
	return d
}

// roundTimeout rounds d up to whole seconds.
func roundTimeout(d time.Duration) time.Duration {
	if r := d % time.Second; r != 0 {
		return d - r + time.Second
	}
	return d
}

// parseTimeout reads integers as seconds and anything else as a Go duration.
// A number of seconds too large for a Duration comes back as MaxTimeout+1 so
// the caller reports it as too long rather than malformed.
func parseTimeout(n *yaml.Node) (time.Duration, bool) {
	if n.Tag == "!!int" || isInteger(n.Value) {
		secs, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				if strings.HasPrefix(n.Value, "-") {
					return -1, true
				}
				return MaxTimeout + 1, true
			}
			return 0, false
		}
		if secs > int64(MaxTimeout/time.Second) {
			return MaxTimeout + 1, true
		}
		return time.Duration(secs) * time.Second, true
	}
	d, err := time.ParseDuration(n.Value)
	return d, err == nil
}

// isInteger reports whether s is a decimal integer, such as a quoted "90"
// or a number too large for YAML to call an integer.
func isInteger(s string) bool {
	s = strings.TrimLeft(s, "+-")
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
