package api

import "github.com/lathe-ci/lathe/blob"

// SetUploadBlobs keeps the upload archives in b in place of the directory
// SetUploads named (call it after SetUploads): an S3 bucket that every
// replica shares. Archives a server before blob keys left in that
// directory are still renamed there at start.
func (s *Server) SetUploadBlobs(b blob.Store) { s.uploads.blobs = b }
