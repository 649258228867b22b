package forge_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// Each stored payload, as its forge sends it, reads as the event it is.
func TestParseStoredPayloads(t *testing.T) {
	t.Parallel()
	const (
		ghPush = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
		ghPR   = "34c5c7793cb3b279e22454cb6750c80560547b3a"
		glPush = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
		gtPush = "bffeb74224043ba2feb48d137756c8a9331c449a"
		gtPR   = "7a4c1e9b0d3f2a5c8e6b9d0f1a2c3e4b5d6f7a8c"
	)
	for _, c := range []struct {
		sender forge.Sender
		file   string
		event  string // the sender's event header
		want   forge.Event
		skip   bool
	}{
		{forge.SenderGitHub, "github/push.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: ghPush,
			Repo: "acme/widget", Author: "octocat", Message: "Update README.md"}, false},
		{forge.SenderGitHub, "github/push_skip_ci.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: ghPush,
			Repo: "acme/widget", Author: "octocat", Message: "Fix typo [skip ci]"}, true},
		{forge.SenderGitHub, "github/push_tag.json", "push", forge.Event{Kind: forge.TagPush, Ref: "refs/tags/v1.2.0", SHA: ghPush,
			Repo: "acme/widget", Author: "octocat", Message: "Update README.md"}, false},
		{forge.SenderGitHub, "github/push_deleted.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/feature/old",
			SHA: "0000000000000000000000000000000000000000", Deleted: true, Repo: "acme/widget", Author: "octocat"}, false},
		{forge.SenderGitHub, "github/pull_request_opened.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/pull/7/head", SHA: ghPR, Base: "main", PullRequest: 7, Repo: "acme/widget", Author: "octocat"}, false},
		{forge.SenderGitHub, "github/pull_request_synchronize.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Synchronize, Ref: "refs/pull/7/head", SHA: "8a3f0c2bde4d1b8ea9e5d27b6f1c0a9e3d4b5c6f", Base: "main",
			PullRequest: 7, Repo: "acme/widget", Author: "octocat"}, false},
		{forge.SenderGitHub, "github/pull_request_reopened.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Reopened, Ref: "refs/pull/7/head", SHA: ghPR, Base: "main", PullRequest: 7, Repo: "acme/widget", Author: "octocat"}, false},
		{forge.SenderGitHub, "github/pull_request_closed.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Closed, Ref: "refs/pull/7/head", SHA: ghPR, Base: "main", PullRequest: 7, Repo: "acme/widget", Author: "octocat"}, false},
		{forge.SenderGitHub, "github/pull_request_fork.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/pull/8/head", SHA: "5b9e1f0a7c3d2e4f6a8b0c1d2e3f4a5b6c7d8e9f", Base: "main",
			PullRequest: 8, Fork: true, Repo: "acme/widget", Author: "stranger"}, false},
		{forge.SenderGitHub, "github/ping.json", "ping", forge.Event{Kind: forge.Other}, false},

		{forge.SenderGitLab, "gitlab/push.json", "Push Hook", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: glPush,
			Repo: "acme/widget", Author: "jsmith", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/push_skip_ci.json", "Push Hook", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: glPush,
			Repo: "acme/widget", Author: "jsmith", Message: "fixed readme [ci skip]"}, true},
		{forge.SenderGitLab, "gitlab/push_tag.json", "Tag Push Hook", forge.Event{Kind: forge.TagPush, Ref: "refs/tags/v1.0.0",
			SHA: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", Repo: "acme/widget", Author: "jsmith"}, false},
		{forge.SenderGitLab, "gitlab/push_deleted.json", "Push Hook", forge.Event{Kind: forge.Push, Ref: "refs/heads/feature/old",
			SHA: "0000000000000000000000000000000000000000", Deleted: true, Repo: "acme/widget", Author: "jsmith"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_opened.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/merge-requests/1/head", SHA: glPush, Base: "main", PullRequest: 1, Repo: "acme/widget",
			Author: "root", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_updated.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Synchronize, Ref: "refs/merge-requests/1/head", SHA: "c7b7e0a4c3f1d2e5b6a7980f1e2d3c4b5a697887", Base: "main",
			PullRequest: 1, Repo: "acme/widget", Author: "root", Message: "second try"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_edited.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.ActionOther, Ref: "refs/merge-requests/1/head", SHA: glPush, Base: "main", PullRequest: 1, Repo: "acme/widget",
			Author: "root", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_reopened.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Reopened, Ref: "refs/merge-requests/1/head", SHA: glPush, Base: "main", PullRequest: 1, Repo: "acme/widget",
			Author: "root", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_closed.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Closed, Ref: "refs/merge-requests/1/head", SHA: glPush, Base: "main", PullRequest: 1, Repo: "acme/widget",
			Author: "root", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_merged.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Closed, Ref: "refs/merge-requests/1/head", SHA: glPush, Base: "main", PullRequest: 1, Repo: "acme/widget",
			Author: "root", Message: "fixed readme"}, false},
		{forge.SenderGitLab, "gitlab/merge_request_fork.json", "Merge Request Hook", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/merge-requests/2/head", SHA: "e3c9a1b2d4f5061728394a5b6c7d8e9f0a1b2c3d", Base: "main",
			PullRequest: 2, Fork: true, Repo: "acme/widget", Author: "stranger", Message: "fixed readme"}, false},

		{forge.SenderGitea, "gitea/push.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: gtPush,
			Repo: "acme/widget", Author: "gitea", Message: "Webhooks Yay!\n"}, false},
		{forge.SenderForgejo, "gitea/push_skip_ci.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/main", SHA: gtPush,
			Repo: "acme/widget", Author: "gitea", Message: "Bump version [skip ci]\n"}, true},
		{forge.SenderGitea, "gitea/push_tag.json", "push", forge.Event{Kind: forge.TagPush, Ref: "refs/tags/v2.0.0", SHA: gtPush,
			Repo: "acme/widget", Author: "gitea", Message: "Webhooks Yay!\n"}, false},
		{forge.SenderGitea, "gitea/push_deleted.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/feature/old",
			SHA: "0000000000000000000000000000000000000000", Deleted: true, Repo: "acme/widget", Author: "gitea"}, false},
		{forge.SenderGitea, "gitea/delete.json", "delete", forge.Event{Kind: forge.Other}, false},
		{forge.SenderGitea, "gitea/pull_request_opened.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/pull/12/head", SHA: gtPR, Base: "main", PullRequest: 12, Repo: "acme/widget", Author: "gitea"}, false},
		{forge.SenderForgejo, "gitea/pull_request_synchronized.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Synchronize, Ref: "refs/pull/12/head", SHA: "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c", Base: "main",
			PullRequest: 12, Repo: "acme/widget", Author: "gitea"}, false},
		{forge.SenderGitea, "gitea/pull_request_reopened.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Reopened, Ref: "refs/pull/12/head", SHA: gtPR, Base: "main", PullRequest: 12, Repo: "acme/widget", Author: "gitea"}, false},
		{forge.SenderGogs, "gitea/pull_request_closed.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Closed, Ref: "refs/pull/12/head", SHA: gtPR, Base: "main", PullRequest: 12, Repo: "acme/widget", Author: "gitea"}, false},
		{forge.SenderGitea, "gitea/pull_request_fork.json", "pull_request", forge.Event{Kind: forge.PullRequest,
			Action: forge.Opened, Ref: "refs/pull/13/head", SHA: "1f2e3d4c5b6a79880716253443526170a9b8c7d6", Base: "main",
			PullRequest: 13, Fork: true, Repo: "acme/widget", Author: "stranger"}, false},
		{forge.SenderGogs, "gogs/push.json", "push", forge.Event{Kind: forge.Push, Ref: "refs/heads/main",
			SHA: "f22f45d79a2ff050f0250a7df41f4944e6591853", Repo: "acme/widget", Author: "unknwon", Message: "Add the spinner\n"}, false},
	} {
		t.Run(string(c.sender)+"/"+c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			h := forge.EventHeaders(c.sender, c.event, "delivery-1")
			got, err := forge.Parse(c.sender, h, body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := c.want
			want.Name, want.Delivery = c.event, "delivery-1"
			if *got != want {
				t.Errorf("Parse =\n %+v\nwant\n %+v", *got, want)
			}
			if got.SkipCI() != c.skip {
				t.Errorf("SkipCI = %v; want %v", got.SkipCI(), c.skip)
			}
		})
	}
}

// A payload that is not its event's JSON, or lacks what the event needs,
// is refused with the field named.
func TestParseRefusesBrokenPayloads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sender      forge.Sender
		event, body string
		want        string
	}{
		{forge.SenderGitHub, "push", `{"ref": 7}`, "field ref is a JSON number, want a string"},
		{forge.SenderGitHub, "pull_request", `{"action": "opened", "pull_request": {"head": {"sha": ["x"]}}}`,
			"field pull_request.head.sha is a JSON array, want a string"},
		{forge.SenderGitLab, "Push Hook", `{"ref": "refs/heads/main",, "after": "x"}`, "payload is not JSON: invalid character ',' looking for beginning of object key string at byte 27"},
		{forge.SenderGitHub, "push", `{"after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}`, "no ref"},
		{forge.SenderGitHub, "push", `{"ref": "refs/heads/main", "after": "--upload-pack=evil"}`, "not a commit ID"},
		{forge.SenderGitHub, "pull_request", `{"action": "opened", "number": 3}`, "no pull_request"},
		{forge.SenderGitLab, "Merge Request Hook", `{"object_attributes": {"action": "open"}}`, "object_attributes.iid"},
		{forge.SenderGitea, "push", `[]`, "it is a JSON array, want an object"},
		{forge.SenderGitHub, "", `{"zen": "a hook sent to the wrong URL"}`, "no X-GitHub-Event header"},
		{forge.SenderGogs, "pull_request", `{"action": "opened", "number": 2, "pull_request": {"number": 2, "head_branch": "fix",
			"base_branch": "main", "head_repo": {"full_name": "acme/widget"}, "base_repo": {"full_name": "acme/widget"}}}`,
			"Gogs's pull request payload, which names no commit"},
		{forge.SenderForgejo, "", `{"ref": "refs/heads/main"}`, "no X-Forgejo-Event header"},
	} {
		_, err := forge.Parse(c.sender, forge.EventHeaders(c.sender, c.event, "d"), []byte(c.body))
		if !errors.Is(err, lathe.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s %s: err = %v; want ErrInvalid naming %q", c.sender, c.event, c.body, err, c.want)
		}
	}
}

// GitHub sends form-encoded payloads unless told otherwise (so can Gitea,
// Forgejo and Gogs): the JSON in the form's payload field reads as if it
// had been sent alone, and a form without it is refused, naming the field.
func TestParseFormEncodedPayloads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sender      forge.Sender
		event, file string
	}{
		{forge.SenderGitHub, "push", "github/push.json"},
		{forge.SenderGitHub, "pull_request", "github/pull_request_fork.json"},
		{forge.SenderGogs, "push", "gogs/push.json"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := forge.Parse(c.sender, forge.EventHeaders(c.sender, c.event, "d"), body)
		if err != nil {
			t.Fatal(err)
		}
		h := forge.EventHeaders(c.sender, c.event, "d")
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		got, err := forge.Parse(c.sender, h, []byte(url.Values{"payload": {string(body)}}.Encode()))
		if err != nil {
			t.Fatalf("%s form-encoded: %v", c.file, err)
		}
		if *got != *want {
			t.Errorf("%s form-encoded =\n %+v\nwant\n %+v", c.file, *got, *want)
		}
	}
	h := forge.EventHeaders(forge.SenderGitHub, "push", "d")
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, err := forge.Parse(forge.SenderGitHub, h, []byte("ref=refs%2Fheads%2Fmain"))
	if !errors.Is(err, lathe.ErrInvalid) || !strings.Contains(err.Error(), "no payload field") {
		t.Errorf("a form without payload: err = %v; want ErrInvalid naming the payload field", err)
	}
}

// Each sender's delivery ID comes from its own header.
func TestDeliveryHeaders(t *testing.T) {
	t.Parallel()
	for s, h := range map[forge.Sender]http.Header{
		forge.SenderGitHub:  {"X-Github-Delivery": {"a"}},
		forge.SenderGitea:   {"X-Gitea-Delivery": {"a"}},
		forge.SenderForgejo: {"X-Forgejo-Delivery": {"a"}},
		forge.SenderGogs:    {"X-Gogs-Delivery": {"a"}},
		forge.SenderGitLab:  {"X-Gitlab-Event-Uuid": {"b"}, "Idempotency-Key": {"a"}},
	} {
		if got := s.Delivery(h); got != "a" {
			t.Errorf("%s delivery = %q; want a", s, got)
		}
	}
}
