package forge

import "strconv"

// PullRef is the ref a forge of kind keeps at the head of pull (merge)
// request n: refs/merge-requests/N/head on GitLab, refs/pull/N/head on
// GitHub and on Gitea, Forgejo and Gogs. A mirror's default fetch does not
// bring these refs; git.Mirror fetches one alone when it is asked for it.
func PullRef(kind Kind, n int64) string {
	num := strconv.FormatInt(n, 10)
	if kind == GitLab {
		return "refs/merge-requests/" + num + "/head"
	}
	return "refs/pull/" + num + "/head"
}
