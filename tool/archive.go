package tool

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Limits bound a tool archive as unpacked.
type Limits struct {
	Bytes   int64
	Entries int
}

// DefaultLimits are the server's bounds of one tool unpacked.
var DefaultLimits = Limits{Bytes: 256 << 20, Entries: 10_000}

// CleanPath is an archive path made relative and checked: no absolute
// path, no "..", nothing unclean.
func CleanPath(raw string) (string, error) {
	name := strings.TrimSuffix(raw, "/")
	for strings.HasPrefix(name, "./") {
		name = strings.TrimPrefix(name, "./")
	}
	switch {
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%q: absolute paths are refused", raw)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return "", fmt.Errorf("%q: '..' would leave the tool's directory", raw)
	case name == "" || name == "." || !fs.ValidPath(name) || strings.Contains(name, `\`):
		return "", fmt.Errorf("%q: not a clean relative path", raw)
	}
	return name, nil
}

// Inspect reads a whole tool archive (a gzipped tar) and returns its
// manifest. Every entry must be a regular file or directory at a clean
// relative path, within lim; the manifest must be at the root and its
// entry point an executable regular file of the archive.
func Inspect(r io.Reader, lim Limits) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("tool archive: not a gzipped tar archive: %w", err)
	}
	tr := tar.NewReader(gz)
	var manifest []byte
	files := map[string]fs.FileMode{}
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tool archive: damaged: %w", err)
		}
		if entries >= lim.Entries {
			return nil, fmt.Errorf("tool archive: holds more than %d entries", lim.Entries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := CleanPath(hdr.Name)
		if err != nil {
			return nil, fmt.Errorf("tool archive: entry %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			if hdr.Size > lim.Bytes-total {
				return nil, fmt.Errorf("tool archive: entry %q: the archive unpacks to more than %d bytes", hdr.Name, lim.Bytes)
			}
			total += hdr.Size
			files[name] = fs.FileMode(hdr.Mode)
			if name == ManifestFile {
				if manifest, err = io.ReadAll(io.LimitReader(tr, 1<<20)); err != nil {
					return nil, fmt.Errorf("tool archive: damaged: %w", err)
				}
			}
		default:
			return nil, fmt.Errorf("tool archive: entry %q is not a regular file or directory (tar type %q); links and special files are refused", hdr.Name, hdr.Typeflag)
		}
	}
	if manifest == nil {
		return nil, fmt.Errorf("tool archive: no %s at its root", ManifestFile)
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	entry, _ := CleanPath(m.Entrypoint)
	mode, ok := files[entry]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: entrypoint %q: no such file in the archive", ManifestFile, m.Entrypoint)
	case mode&0o111 == 0:
		return nil, fmt.Errorf("%s: entrypoint %q: not executable (chmod +x it)", ManifestFile, m.Entrypoint)
	}
	return m, nil
}

// Pack writes a gzipped tar of the directory dir to w: regular files and
// directories only (a symbolic link or special file is an error), the
// manifest included, and returns the manifest read from dir.
func Pack(w io.Writer, dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == ".git" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: int64(fi.Mode().Perm())})
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%s: only regular files and directories go into a tool (this is %s)", rel, fi.Mode().Type())
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, fi.Size())
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, gz.Close()
}
