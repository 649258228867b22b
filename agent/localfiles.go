package agent

import "io"

// The upload and download steps' archives, for `lathe exec` (package
// local), which keeps a run's uploads in a directory instead of on a
// server: the same archive, the same globs and the same refusals, so a
// pipeline that hands files between jobs locally does so on an agent.

// ErrNoFiles is Pack's error when the globs match nothing at all.
var ErrNoFiles = errNoMatch

// Pack writes to w the gzipped tar an upload step of globs sends from the
// workspace ws, and returns what it holds as a log line ("3 files, 1
// directories, 12 B"). note receives a line for each thing left out.
func Pack(w io.Writer, ws string, globs []string, note func(string)) (string, error) {
	st, err := pack(w, ws, globs, note)
	if err != nil {
		return "", err
	}
	return st.String(), nil
}

// Unpack extracts into ws an archive Pack wrote, as a download step does,
// and returns what it held as a log line.
func Unpack(r io.Reader, ws string) (string, error) {
	st, err := unpack(r, ws, defaultUnpackLimits)
	if err != nil {
		return "", err
	}
	return st.String(), nil
}
