package forge

import (
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// Gitea's payloads (Forgejo's and Gogs's share them):
// https://docs.gitea.com/usage/webhooks, https://forgejo.org/docs/latest/user/webhooks/

type giteaUser struct {
	Login    string `json:"login"`
	Username string `json:"username"`
}

func (u giteaUser) name() string {
	if u.Login != "" {
		return u.Login
	}
	return u.Username
}

type giteaPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	HeadCommit *struct {
		Message string `json:"message"`
	} `json:"head_commit"`
	Commits []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"commits"`
	Repository ghRepo    `json:"repository"`
	Pusher     giteaUser `json:"pusher"`
	Sender     giteaUser `json:"sender"`
}

type giteaPullRequest struct {
	Action      string `json:"action"`
	Number      int64  `json:"number"`
	PullRequest *struct {
		User giteaUser `json:"user"`
		Head ghBranch  `json:"head"`
		Base ghBranch  `json:"base"`
		// HeadBranch is Gogs's, whose pull requests name no commit.
		HeadBranch string `json:"head_branch"`
	} `json:"pull_request"`
	Repository ghRepo `json:"repository"`
}

func parseGitea(name string, body []byte) (*Event, error) {
	switch name {
	case "push":
		var p giteaPush
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p.Ref == "" {
			return nil, missing("ref")
		}
		e := &Event{Kind: Push, Ref: p.Ref, SHA: p.After, Repo: p.Repository.FullName, Author: p.Pusher.name()}
		if e.Author == "" {
			e.Author = p.Sender.name()
		}
		switch {
		case p.HeadCommit != nil:
			e.Message = p.HeadCommit.Message
		default:
			// Gogs names no head commit: it is the one pushed last.
			for _, c := range p.Commits {
				if c.ID == p.After {
					e.Message = c.Message
				}
			}
		}
		return e, nil
	case "pull_request":
		var p giteaPullRequest
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p.PullRequest == nil {
			return nil, missing("pull_request")
		}
		if p.Number == 0 {
			return nil, missing("number")
		}
		pr := p.PullRequest
		if pr.Head.SHA == "" && pr.HeadBranch != "" {
			return nil, fmt.Errorf("this is Gogs's pull request payload, which names no commit to build: Lathe builds Gogs's pushes, not its pull requests: %w",
				lathe.ErrInvalid)
		}
		return &Event{Kind: PullRequest, Action: prAction(p.Action), Ref: pullRef(p.Number), SHA: pr.Head.SHA,
			Base: pr.Base.Ref, PullRequest: p.Number, Fork: fork(pr.Head.Repo, pr.Base.Repo),
			Repo: p.Repository.FullName, Author: pr.User.name()}, nil
	}
	return &Event{Kind: Other}, nil
}

// pullRef is the ref GitHub and Gitea keep a pull request's head at.
func pullRef(n int64) string { return fmt.Sprintf("refs/pull/%d/head", n) }
