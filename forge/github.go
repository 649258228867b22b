package forge

// GitHub's payloads: https://docs.github.com/en/webhooks/webhook-events-and-payloads

type ghUser struct {
	Login string `json:"login"`
}

type ghRepo struct {
	FullName string `json:"full_name"`
}

type ghPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	HeadCommit *struct {
		Message string `json:"message"`
	} `json:"head_commit"`
	Repository ghRepo `json:"repository"`
	Pusher     struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Sender ghUser `json:"sender"`
}

type ghBranch struct {
	Ref  string  `json:"ref"`
	SHA  string  `json:"sha"`
	Repo *ghRepo `json:"repo"` // null when the fork is gone
}

type ghPullRequest struct {
	Action      string `json:"action"`
	Number      int64  `json:"number"`
	PullRequest *struct {
		User ghUser   `json:"user"`
		Head ghBranch `json:"head"`
		Base ghBranch `json:"base"`
	} `json:"pull_request"`
	Repository ghRepo `json:"repository"`
}

func parseGitHub(name string, body []byte) (*Event, error) {
	switch name {
	case "push":
		var p ghPush
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p.Ref == "" {
			return nil, missing("ref")
		}
		e := &Event{Kind: Push, Ref: p.Ref, SHA: p.After, Deleted: p.Deleted, Repo: p.Repository.FullName, Author: p.Sender.Login}
		if e.Author == "" {
			e.Author = p.Pusher.Name
		}
		if p.HeadCommit != nil {
			e.Message = p.HeadCommit.Message
		}
		return e, nil
	case "pull_request":
		var p ghPullRequest
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p.PullRequest == nil {
			return nil, missing("pull_request")
		}
		pr := p.PullRequest
		if p.Number == 0 {
			return nil, missing("number")
		}
		return &Event{Kind: PullRequest, Action: prAction(p.Action), Ref: pullRef(p.Number), SHA: pr.Head.SHA,
			Base: pr.Base.Ref, PullRequest: p.Number, Fork: fork(pr.Head.Repo, pr.Base.Repo),
			Repo: p.Repository.FullName, Author: pr.User.Login}, nil
	}
	return &Event{Kind: Other}, nil
}

// fork says a pull request's head is not in its base repository; a head
// repository that is gone is a fork.
func fork(head, base *ghRepo) bool {
	return head == nil || base == nil || head.FullName != base.FullName
}
