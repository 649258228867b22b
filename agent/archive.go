package agent

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Uploads travel as gzipped tar archives of regular files and directories
// only. Packing never follows a symbolic link nor stores one, and
// unpacking refuses anything that could land outside the workspace or
// write through a link: both go through an os.Root of the workspace, which
// the kernel keeps them inside of whatever the tree holds.

// gitDir is the workspace's git metadata (in a worktree, a file pointing at
// the mirror): never packed, never overwritten.
const gitDir = ".git"

// archiveStats counts what an archive holds.
type archiveStats struct {
	Files, Dirs int
	Bytes       int64
}

func (s archiveStats) String() string {
	return fmt.Sprintf("%d files, %d directories, %s", s.Files, s.Dirs, byteSize(s.Bytes))
}

// pack writes to w a gzipped tar of what the globs match in the workspace
// ws: matched files, and matched directories with all they hold. note
// receives a line for each thing it leaves out (symbolic links, special
// files, git metadata) and each glob that matched nothing.
func pack(w io.Writer, ws string, globs []string, note func(string)) (archiveStats, error) {
	var st archiveStats
	root, err := os.OpenRoot(ws)
	if err != nil {
		return st, fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	kinds, err := matchGlobs(root, globs, note)
	if err != nil {
		return st, err
	}
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed) // build outputs: speed over ratio
	if err != nil {
		return st, err
	}
	tw := tar.NewWriter(gz)
	if st, err = writeEntries(tw, root, "", kinds); err != nil {
		return st, err
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, gz.Close()
}

// errNoMatch is globs that match nothing at all.
var errNoMatch = errors.New("no files match")

// matchGlobs returns what the globs match in root, by path, with its type
// (fs.ModeDir or 0 for a regular file): matched files, and matched
// directories with all they hold. note receives a line for each thing it
// leaves out (symbolic links, special files, git metadata) and each glob
// that matched nothing; matching nothing at all is an error.
func matchGlobs(root *os.Root, globs []string, note func(string)) (map[string]fs.FileMode, error) {
	fsys := root.FS()
	kinds := map[string]fs.FileMode{} // path → type (0 for a regular file)
	walked := map[string]bool{}       // directories packed whole
	add := func(p string, d fs.DirEntry) {
		switch t := d.Type(); {
		case p == ".": // the workspace itself is where downloads unpack
		case t.IsRegular() || t.IsDir():
			kinds[p] = t & fs.ModeDir
		case t&fs.ModeSymlink != 0:
			note(p + ": symbolic link, not uploaded")
		default:
			note(p + ": not a regular file or directory, not uploaded")
		}
	}
	for _, written := range globs {
		if err := checkGlob(written); err != nil {
			return nil, err
		}
		// "out/" names the directory out, and "./out" out: the globs
		// match paths as io/fs spells them, without either.
		g := path.Clean(written)
		// The glob would follow a link in its literal directory part (see
		// doublestar.WithNoFollow); its matches would all be left out.
		if base, _ := doublestar.SplitPattern(g); linkIn(root, base) != "" {
			note(g + ": reached through the symbolic link " + linkIn(root, base) + ", not uploaded")
			continue
		}
		// A glob without wildcards naming a link would be followed too.
		if fi, err := root.Lstat(g); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			note(g + ": symbolic link, not uploaded")
			continue
		}
		matches, err := doublestar.Glob(fsys, g, doublestar.WithNoFollow(), doublestar.WithFailOnIOErrors())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		found := false
		slices.Sort(matches) // a directory before what it holds
		for _, m := range matches {
			if m == gitDir || strings.HasPrefix(m, gitDir+"/") {
				continue
			}
			if within(m, walked) {
				found = true // packed with a directory already walked
				continue
			}
			if link := linkOnPath(root, m); link != "" {
				note(m + ": reached through the symbolic link " + link + ", not uploaded")
				continue
			}
			found = true
			fi, err := root.Lstat(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			if !fi.IsDir() {
				add(m, fs.FileInfoToDirEntry(fi))
				continue
			}
			// A matched directory goes whole; WalkDir never descends into a link.
			walked[m] = true
			err = fs.WalkDir(fsys, m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p == gitDir {
					if d.IsDir() {
						return fs.SkipDir
					}
					return nil // (SkipDir on a file would skip the rest of its directory)
				}
				add(p, d)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
		}
		if !found {
			note(written + ": matches nothing")
		}
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("%w %s", errNoMatch, strings.Join(globs, ", "))
	}
	return kinds, nil
}

// writeEntries adds the files and directories of kinds (see matchGlobs)
// in root to tw, each named prefix+path.
func writeEntries(tw *tar.Writer, root *os.Root, prefix string, kinds map[string]fs.FileMode) (archiveStats, error) {
	var st archiveStats
	// Sorted, a directory comes before what it holds.
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range kinds {
			if !yield(p) {
				return
			}
		}
	}) {
		if kinds[p].IsDir() {
			fi, err := root.Lstat(p)
			if err != nil {
				return st, fmt.Errorf("%s: %w", p, err)
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix + p + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}); err != nil {
				return st, err
			}
			st.Dirs++
			continue
		}
		n, err := packFile(tw, root, p, prefix+p)
		if err != nil {
			return st, fmt.Errorf("%s: %w", p, err)
		}
		st.Files++
		st.Bytes += n
	}
	return st, nil
}

// packFile adds one regular file, as it is when opened, named name.
func packFile(tw *tar.Writer, root *os.Root, p, name string) (int64, error) {
	f, err := root.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, errors.New("changed into something other than a regular file while packing")
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	// The size is fixed in the header: a file still growing is cut there.
	return io.CopyN(tw, f, fi.Size())
}

// within reports whether one of p's parent directories is in dirs.
func within(p string, dirs map[string]bool) bool {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return dirs["."]
}

// checkGlob refuses a glob that could reach outside the workspace.
func checkGlob(g string) error {
	switch {
	case !doublestar.ValidatePattern(g):
		return fmt.Errorf("%q is not a valid glob", g)
	case strings.HasPrefix(g, "/"):
		return fmt.Errorf("%q: paths are relative to the workspace", g)
	case slices.Contains(globParts(g), ".."):
		return fmt.Errorf("%q: '..' would leave the workspace", g)
	}
	return nil
}

// globParts splits a glob into the names it may spell, with escapes and
// character classes taken out and alternatives ({a,b}) split apart, so
// that `\.\.`, `[.][.]` and `{..,src}` show as ".." as plainly as "..".
func globParts(g string) []string {
	bare := strings.NewReplacer(`\`, "", "[", "", "]", "").Replace(g)
	return strings.FieldsFunc(bare, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == ',' })
}

// linkOnPath returns the first directory on p's way (p itself excluded)
// that is a symbolic link, or "".
func linkOnPath(root *os.Root, p string) string {
	return linkIn(root, path.Dir(p))
}

// linkIn returns the first of dir and its parents, outermost first, that
// is a symbolic link (or cannot be looked at), or "".
func linkIn(root *os.Root, dir string) string {
	if dir == "." || dir == "" {
		return ""
	}
	p := ""
	for _, part := range strings.Split(dir, "/") {
		p = path.Join(p, part)
		if fi, err := root.Lstat(p); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			if errors.Is(err, fs.ErrNotExist) {
				return "" // nothing there: the glob matches nothing
			}
			return p
		}
	}
	return ""
}

// unpackLimits bound what one archive may put in a workspace: a small
// download must not fill the disk (a gzip bomb).
type unpackLimits struct {
	Bytes   int64
	Entries int
}

var defaultUnpackLimits = unpackLimits{Bytes: 32 << 30, Entries: 1 << 20}

// unpack extracts a gzipped tar from r into the workspace ws. It accepts
// only regular files and directories at relative paths inside ws, never
// writes through a symbolic link, and refuses the workspace's git
// metadata; anything else fails the whole download with the entry named.
// An existing file is replaced; an existing directory is kept.
func unpack(r io.Reader, ws string, lim unpackLimits) (archiveStats, error) {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return archiveStats{}, fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	return unpackTo(r, func(name string) (*os.Root, string, error) { return root, name, nil }, lim)
}

// unpackTo is unpack with each entry's checked name mapped by pick to the
// root it goes into and its path there ("" to leave it out).
func unpackTo(r io.Reader, pick func(name string) (*os.Root, string, error), lim unpackLimits) (archiveStats, error) {
	var st archiveStats
	gz, err := gzip.NewReader(r)
	if err != nil {
		return st, fmt.Errorf("not a gzipped tar archive: %w", err)
	}
	tr := tar.NewReader(gz)
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("damaged archive: %w", err)
		}
		if entries >= lim.Entries {
			return st, fmt.Errorf("archive holds more than %d entries", lim.Entries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return st, err
		}
		root, name, err := pick(name)
		if err != nil {
			return st, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
		if name == "" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := makeDirs(root, name); err != nil {
				return st, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
			}
			st.Dirs++
		case tar.TypeReg: // the reader turns the old TypeRegA into TypeReg
			if hdr.Size > lim.Bytes-st.Bytes {
				return st, fmt.Errorf("archive entry %q: the archive unpacks to more than %s", hdr.Name, byteSize(lim.Bytes))
			}
			if err := writeFile(root, name, tr, hdr); err != nil {
				return st, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
			}
			st.Files++
			st.Bytes += hdr.Size
		default:
			return st, fmt.Errorf("archive entry %q is %s; only regular files and directories are downloaded", hdr.Name, typeName(hdr.Typeflag))
		}
	}
}

// entryName is an archive path made relative and checked: no absolute
// path, no "..", not the workspace itself nor its git metadata.
func entryName(raw string) (string, error) {
	name := strings.TrimSuffix(raw, "/")
	for strings.HasPrefix(name, "./") {
		name = strings.TrimPrefix(name, "./")
	}
	switch {
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("archive entry %q: absolute paths are refused", raw)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return "", fmt.Errorf("archive entry %q: '..' would leave the workspace", raw)
	case name == "" || name == "." || !fs.ValidPath(name):
		return "", fmt.Errorf("archive entry %q: not a clean relative path", raw)
	case name == gitDir || strings.HasPrefix(name, gitDir+"/"):
		return "", fmt.Errorf("archive entry %q: the workspace's git metadata is not overwritten", raw)
	}
	return name, nil
}

// makeDirs makes dir and its parents, each a real directory: an existing
// link or file on the way is an error.
func makeDirs(root *os.Root, dir string) error {
	p := ""
	for _, part := range strings.Split(dir, "/") {
		p = path.Join(p, part)
		fi, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(p, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link in the workspace; refusing to write through it", p)
		case !fi.IsDir():
			return fmt.Errorf("%s is a file in the workspace, not a directory", p)
		}
	}
	return nil
}

// writeFile writes one regular file, replacing a file already there (but
// never a directory, and never writing through a link).
func writeFile(root *os.Root, name string, r io.Reader, hdr *tar.Header) error {
	if dir := path.Dir(name); dir != "." {
		if err := makeDirs(root, dir); err != nil {
			return err
		}
	}
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s is a directory in the workspace", name)
	default:
		// A file or a link: removed, so O_EXCL below creates a new file
		// rather than writing into whatever the old name pointed at.
		if err := root.Remove(name); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(hdr.Mode).Perm())
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, hdr.Size); err != nil {
		f.Close()
		return fmt.Errorf("damaged archive: %w", err)
	}
	return f.Close()
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "a device file"
	case tar.TypeFifo:
		return "a named pipe"
	}
	return fmt.Sprintf("of tar type %q", flag)
}

// byteSize is n in bytes, KiB, MiB or GiB, for log lines.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
