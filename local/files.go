package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/lathe-ci/lathe/pipeline"
)

// ErrNoPipeline is returned when a directory holds no pipeline file.
var ErrNoPipeline = errors.New("no pipeline file")

// ReadFiles reads the pipeline files of dir, keeping exactly the paths the
// server keeps at a commit (pipeline.IsFile), sorted by path as the
// server sorts them, so both see the same pipelines in the same order.
func ReadFiles(dir string) ([]pipeline.File, error) {
	candidates := []string{".lathe.yml", ".lathe.yaml"}
	entries, err := os.ReadDir(filepath.Join(dir, ".lathe"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read pipeline files: %w", err)
	}
	for _, e := range entries {
		candidates = append(candidates, path.Join(".lathe", e.Name()))
	}
	var files []pipeline.File
	for _, p := range candidates {
		if !pipeline.IsFile(p) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			// A directory named like a pipeline file is skipped, as git
			// would never list it as a blob.
			if fi, serr := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); serr == nil && fi.IsDir() {
				continue
			}
			return nil, fmt.Errorf("read pipeline file: %w", err)
		}
		files = append(files, pipeline.File{Path: p, Data: data})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no .lathe.yml or .lathe/*.yml: %w", dir, ErrNoPipeline)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// Load reads, parses and picks the pipeline called name (the only one when
// name is empty) from dir's pipeline files.
func Load(dir, name string) (*pipeline.Pipeline, error) {
	files, err := ReadFiles(dir)
	if err != nil {
		return nil, err
	}
	ps, err := pipeline.Parse(files)
	if err != nil {
		return nil, err
	}
	return pipeline.Choose(ps, name)
}
