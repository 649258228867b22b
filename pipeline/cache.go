package pipeline

import (
	"regexp"
	"strings"
	"sync"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// Limits of `cache:`.
const (
	MaxCaches          = 10
	MaxCacheRestoreKey = 10
)

var cacheKeys = []string{"key", "restore_keys", "paths"}

// Cache is one entry of a job's `cache:`: directories saved under a key
// after a successful job and restored before the steps of later jobs of
// the project whose key matches (the exact key, then the newest cache
// whose key starts with one of RestoreKeys, in order).
type Cache struct {
	// Key is the key's template: `{{ hashFiles('go.sum') }}` is replaced by
	// the agent with the hash of the files the globs match in the checkout.
	Key         string
	RestoreKeys []string
	// Paths are directories or files relative to the workspace, or to the
	// job's HOME when they start with `~/`.
	Paths []string
	// Line is where the entry is in the file.
	Line int
}

// keyCall matches one {{ … }} of a key template; hashFilesArgs what a
// hashFiles call may hold: quoted globs separated by commas.
var (
	keyCall       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{([^}]*)\}\}`) })
	hashFilesArgs = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s*hashFiles\(\s*('[^',]+'|"[^",]+")(\s*,\s*('[^',]+'|"[^",]+"))*\s*\)\s*$`)
	})
)

// caches reads `cache:`: a list of {key, restore_keys, paths} (or one).
func (w *walker) caches(n *yaml.Node, path string) []Cache {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = w.items(n)
	}
	if len(items) > MaxCaches {
		w.errorf(n, path, "%d caches; at most %d", len(items), MaxCaches)
		return nil
	}
	var out []Cache
	for i, item := range items {
		field := path
		if n.Kind == yaml.SequenceNode {
			field = index(path, i)
		}
		if item.Kind != yaml.MappingNode {
			w.errorf(item, field, "must be a map such as {key: \"go-{{ hashFiles('go.sum') }}\", paths: [~/go/pkg/mod]}, not %s", describe(item))
			continue
		}
		c := Cache{Line: item.Line}
		var sawKey, sawPaths bool
		for _, e := range w.entries(item, field) {
			sub := join(field, e.key.Value)
			switch e.key.Value {
			case "key":
				sawKey = true
				if !isScalar(e.value) {
					w.errorf(e.value, sub, "must be a string, not %s", describe(e.value))
					continue
				}
				if msg := checkKeyTemplate(e.value.Value); msg != "" {
					w.errorf(e.value, sub, "%s", msg)
					continue
				}
				c.Key = e.value.Value
			case "restore_keys":
				keys, nodes := w.globs(e.value, sub, "a key prefix")
				if len(keys) > MaxCacheRestoreKey {
					w.errorf(e.value, sub, "%d prefixes; at most %d", len(keys), MaxCacheRestoreKey)
					continue
				}
				for j, k := range keys {
					if err := lathe.CheckCacheKey(k); err != nil {
						w.errorf(nodes[j], sub, "%v", err)
						continue
					}
					c.RestoreKeys = append(c.RestoreKeys, k)
				}
			case "paths":
				sawPaths = true
				paths, nodes := w.globs(e.value, sub, "a path")
				for j, p := range paths {
					if msg := checkCachePath(p); msg != "" {
						w.errorf(nodes[j], sub, "%q %s", p, msg)
						continue
					}
					c.Paths = append(c.Paths, p)
				}
			default:
				w.unknownKey(e.key, field, cacheKeys)
			}
		}
		if !sawKey {
			w.errorf(item, join(field, "key"), "missing; a cache is saved and found by its key, as in `key: \"go-{{ hashFiles('go.sum') }}\"`")
		}
		if !sawPaths {
			w.errorf(item, join(field, "paths"), "missing; list the directories to cache, as in `paths: [~/.cache/go-build]`")
		}
		out = append(out, c)
	}
	return out
}

// checkKeyTemplate says what is wrong with a key template, or "".
func checkKeyTemplate(key string) string {
	bad := ""
	literal := keyCall().ReplaceAllStringFunc(key, func(call string) string {
		inner := keyCall().FindStringSubmatch(call)[1]
		if !hashFilesArgs().MatchString(inner) {
			bad = call
		}
		return "h"
	})
	switch {
	case bad != "":
		return "`" + bad + "`: only {{ hashFiles('glob', …) }} may appear in a key, with quoted globs"
	case strings.Contains(literal, "{{") || strings.Contains(literal, "}}"):
		return "an unbalanced {{ or }}; write {{ hashFiles('go.sum') }}"
	}
	if err := lathe.CheckCacheKey(literal); err != nil {
		return err.Error()
	}
	return ""
}

// checkCachePath says what is wrong with a cache path, or "".
func checkCachePath(p string) string {
	rest, _ := strings.CutPrefix(p, "~/")
	switch {
	case p == "~" || p == "~/":
		return "is the whole home directory; name the directories in it to cache"
	case strings.HasPrefix(p, "/"):
		return "is absolute; paths are relative to the workspace, or to ~ (the job's home)"
	case strings.HasPrefix(rest, "~"):
		return "names another user's home; use ~/ for the job's own"
	case strings.ContainsAny(rest, "*?[{"):
		return "is a pattern; name directories or files as they are"
	}
	for _, part := range strings.Split(rest, "/") {
		if part == ".." || part == "." || part == "" {
			return "must be a clean path without '.', '..' or empty parts"
		}
	}
	return ""
}

// planSteps are a planned job's steps: its own, with the agent's actions
// for its caches before them and for its artifacts and caches after them.
func planSteps(j *Job) []lathe.StepDef {
	if len(j.Caches) == 0 && (j.Artifacts == nil || len(j.Artifacts.Paths) == 0) {
		return j.Steps
	}
	steps := make([]lathe.StepDef, 0, len(j.Steps)+2*len(j.Caches)+1)
	for _, c := range j.Caches {
		steps = append(steps, lathe.StepDef{Name: "restore cache " + c.Key, Action: &lathe.StepAction{
			Kind: lathe.ActionCacheRestore, Key: c.Key, RestoreKeys: c.RestoreKeys, Paths: c.Paths}})
	}
	steps = append(steps, j.Steps...)
	if a := j.Artifacts; a != nil && len(a.Paths) > 0 {
		steps = append(steps, lathe.StepDef{Name: "artifacts", Action: &lathe.StepAction{
			Kind: lathe.ActionArtifacts, Paths: a.Paths, When: a.When, ExpireInSec: int64(a.ExpireIn.Seconds())}})
	}
	for _, c := range j.Caches {
		steps = append(steps, lathe.StepDef{Name: "save cache " + c.Key, Action: &lathe.StepAction{
			Kind: lathe.ActionCacheSave, Key: c.Key, Paths: c.Paths}})
	}
	return steps
}
