package api

// SetDataDir names the server's data directory (SQLite database, git
// mirrors, uploads), whose disk /readyz and every trigger check first (see
// dispatch.Service.RoomToRun): a run started on a full disk would fail in
// some git or SQLite message, whereas a 503 naming the full disk tells the
// operator what to do.
func (s *Server) SetDataDir(dir string) { s.dispatch.SetDataDir(dir) }
