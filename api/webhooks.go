package api

import (
	"net/http"
	"net/url"
	"slices"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/webhook"
)

// A project's outgoing webhooks (/api/v1/projects/{project}/webhooks): its
// run and job events, POSTed signed with the Standard Webhooks scheme. The
// secret is sealed like every secret and shown once, in the answer to
// create. Where a URL may point is the outbound client's business, checked
// at every connection (see package outbound), not here.

// webhookInput is the body of create (url and events required) and of
// update (every field optional).
type webhookInput struct {
	URL    *string  `json:"url"`
	Events []string `json:"events"`
	Active *bool    `json:"active"`
	// Secret is a chosen "whsec_…" secret; create makes one when omitted.
	Secret *string `json:"secret"`
}

// webhookList is the answer to listing a project's webhooks.
type webhookList struct {
	Items []*lathe.Webhook `json:"items"`
}

// check validates the fields given.
func (in webhookInput) check() error {
	if in.URL != nil {
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(*in.URL) > 2000 {
			return problemf(http.StatusBadRequest, "url: %q must be an absolute http or https URL of at most 2000 characters", *in.URL)
		}
		if u.User != nil {
			return problemf(http.StatusBadRequest, "url: credentials in the URL are not kept secret; the signature authenticates Lathe")
		}
	}
	if in.Events != nil {
		if len(in.Events) == 0 {
			return problemf(http.StatusBadRequest, "events: name at least one of %v", lathe.WebhookEvents)
		}
		for _, e := range in.Events {
			if !slices.Contains(lathe.WebhookEvents, e) {
				return problemf(http.StatusBadRequest, "events: %q is not an event kind (one of %v)", e, lathe.WebhookEvents)
			}
		}
	}
	if in.Secret != nil {
		if _, err := webhook.ParseSecret(*in.Secret); err != nil {
			return problemf(http.StatusBadRequest, "secret: %v", err)
		}
	}
	return nil
}

func (s *Server) webhookKeys() error {
	if s.keys == nil {
		return problemf(http.StatusServiceUnavailable, "webhooks are not configured on this server (it has no secret key to seal their secrets)")
	}
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.URL == nil {
		return problemf(http.StatusBadRequest, "url: required")
	}
	if in.Events == nil {
		return problemf(http.StatusBadRequest, "events: required: name at least one of %v", lathe.WebhookEvents)
	}
	if err := in.check(); err != nil {
		return err
	}
	if err := s.webhookKeys(); err != nil {
		return err
	}
	p := projectOf(r)
	secret := webhook.NewSecret()
	if in.Secret != nil {
		secret = *in.Secret
	}
	hook := &lathe.Webhook{Project: p.Name, URL: *in.URL, Events: slices.Compact(slices.Sorted(slices.Values(in.Events))),
		Active: in.Active == nil || *in.Active, CreatedBy: principal(r.Context()).User}
	if err := s.store.CreateWebhook(r.Context(), s.keys, p.ID, hook, secret); err != nil {
		return err
	}
	s.audit(r, hook.CreatedBy, "webhook.created", p, map[string]any{"webhook_id": hook.ID, "url": hook.URL})
	if in.Secret == nil {
		hook.Secret = secret // shown this once: the caller has no other way to learn it
	}
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/webhooks/"+itoa(hook.ID))
	writeJSON(w, http.StatusCreated, hook)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := s.store.Webhooks(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, webhookList{Items: hooks}, err)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook")
	if err != nil {
		return err
	}
	hook, err := s.store.Webhook(r.Context(), projectOf(r).ID, id)
	return respond(w, http.StatusOK, hook, err)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook")
	if err != nil {
		return err
	}
	var in webhookInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	if err := s.webhookKeys(); err != nil {
		return err
	}
	p := projectOf(r)
	patch := store.WebhookPatch{URL: in.URL, Active: in.Active, Secret: in.Secret}
	if in.Events != nil {
		patch.Events = slices.Compact(slices.Sorted(slices.Values(in.Events)))
	}
	hook, err := s.store.UpdateWebhook(r.Context(), s.keys, p.ID, id, patch)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "webhook.updated", p, map[string]any{"webhook_id": id, "secret_changed": in.Secret != nil})
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook")
	if err != nil {
		return err
	}
	p := projectOf(r)
	if err := s.store.DeleteWebhook(r.Context(), p.ID, id); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "webhook.deleted", p, map[string]any{"webhook_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownWebhook is the path's webhook, which must belong to the path's project.
func (s *Server) ownWebhook(r *http.Request) (int64, error) {
	id, err := pathID(r, "webhook")
	if err != nil {
		return 0, err
	}
	if _, err := s.store.Webhook(r.Context(), projectOf(r).ID, id); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := s.ownWebhook(r)
	if err != nil {
		return err
	}
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.WebhookDeliveries(r.Context(), id, before, limit)
	return respond(w, http.StatusOK, page, err)
}

// redeliverWebhook sends a delivery's message again (same webhook-id and
// body, signed anew): a new delivery, answered with 202.
func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := s.ownWebhook(r)
	if err != nil {
		return err
	}
	deliveryID, err := pathID(r, "delivery")
	if err != nil {
		return err
	}
	d, err := s.store.Redeliver(r.Context(), id, deliveryID)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "webhook.redelivered", projectOf(r), map[string]any{"webhook_id": id, "delivery_id": deliveryID})
	writeJSON(w, http.StatusAccepted, d)
	return nil
}

// resendRunStatus queues the run's current state to its forge again and
// answers with the run's statuses, that one last.
func (s *Server) resendRunStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	d, err := s.store.ResendStatus(r.Context(), id)
	if err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "run.status_resent", projectOf(r), map[string]any{"run_id": id, "delivery_id": d.ID, "state": d.State})
	items, err := s.store.RunStatuses(r.Context(), id)
	return respond(w, http.StatusAccepted, map[string]any{"items": items}, err)
}

// listRunStatuses lists the commit statuses of a run: each state queued
// for its forge, with its link, HTTP code, tries and error.
func (s *Server) listRunStatuses(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "run")
	if err != nil {
		return err
	}
	items, err := s.store.RunStatuses(r.Context(), id)
	return respond(w, http.StatusOK, map[string]any{"items": items}, err)
}
