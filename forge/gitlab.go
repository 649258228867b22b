package forge

import "fmt"

// GitLab's payloads: https://docs.gitlab.com/user/project/integrations/webhook_events/

type glProject struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
}

type glCommit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

type glPush struct {
	ObjectKind   string     `json:"object_kind"`
	Ref          string     `json:"ref"`
	After        string     `json:"after"`
	CheckoutSHA  *string    `json:"checkout_sha"`
	UserUsername string     `json:"user_username"`
	Project      glProject  `json:"project"`
	Commits      []glCommit `json:"commits"`
}

type glMergeRequest struct {
	ObjectKind string `json:"object_kind"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	Project          glProject `json:"project"`
	ObjectAttributes *struct {
		IID             int64     `json:"iid"`
		TargetBranch    string    `json:"target_branch"`
		SourceProjectID int64     `json:"source_project_id"`
		TargetProjectID int64     `json:"target_project_id"`
		Action          string    `json:"action"`
		OldRev          string    `json:"oldrev"`
		LastCommit      *glCommit `json:"last_commit"`
	} `json:"object_attributes"`
}

func parseGitLab(name string, body []byte) (*Event, error) {
	switch name {
	case "Push Hook", "Tag Push Hook":
		var p glPush
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p.Ref == "" {
			return nil, missing("ref")
		}
		sha := p.After
		if p.CheckoutSHA != nil && *p.CheckoutSHA != "" && name == "Push Hook" {
			sha = *p.CheckoutSHA
		}
		e := &Event{Kind: Push, Ref: p.Ref, SHA: sha, Repo: p.Project.PathWithNamespace, Author: p.UserUsername}
		for _, c := range p.Commits {
			if c.ID == sha {
				e.Message = c.Message
			}
		}
		return e, nil
	case "Merge Request Hook":
		var p glMergeRequest
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		a := p.ObjectAttributes
		if a == nil {
			return nil, missing("object_attributes")
		}
		if a.IID == 0 {
			return nil, missing("object_attributes.iid")
		}
		action := prAction(a.Action)
		if a.Action == "update" && a.OldRev != "" {
			// An update that carries the old head pushed new commits; any
			// other update edited the title, labels or the like.
			action = Synchronize
		}
		e := &Event{Kind: PullRequest, Action: action, Ref: fmt.Sprintf("refs/merge-requests/%d/head", a.IID),
			Base: a.TargetBranch, PullRequest: a.IID, Fork: a.SourceProjectID != a.TargetProjectID,
			Repo: p.Project.PathWithNamespace, Author: p.User.Username}
		if a.LastCommit != nil {
			e.SHA, e.Message = a.LastCommit.ID, a.LastCommit.Message
		}
		return e, nil
	}
	return &Event{Kind: Other}, nil
}
