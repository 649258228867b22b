package pipeline

import "path"

// IsFile reports whether a repository path is a pipeline file: .lathe.yml
// (or .yaml) at the root, or a .yml/.yaml file directly in .lathe/. The
// server reading a commit and `lathe exec` reading a directory both keep
// exactly these.
func IsFile(p string) bool {
	switch p {
	case ".lathe.yml", ".lathe.yaml":
		return true
	}
	ext := path.Ext(p)
	return path.Dir(p) == ".lathe" && (ext == ".yml" || ext == ".yaml")
}
