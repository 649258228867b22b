package lathe

import "time"

// Webhook is a project's outgoing webhook: Lathe POSTs the project's run
// and job events to URL, signed with the Standard Webhooks scheme.
type Webhook struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	URL     string `json:"url"`
	// Events are the kinds of event sent: WebhookEvents.
	Events []string `json:"events"`
	Active bool     `json:"active"`
	// Secret signs the messages ("whsec_…"); present only in the answer to create.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// The kinds of event a webhook subscribes to.
const (
	WebhookRun = "run"
	WebhookJob = "job"
)

// WebhookEvents lists the kinds of event a webhook may subscribe to.
var WebhookEvents = []string{WebhookRun, WebhookJob}

// The kinds of delivery.
const (
	DeliveryStatus  = "status"
	DeliveryWebhook = "webhook"
)

// The states of a delivery.
const (
	DeliveryQueued     = "queued"
	DeliveryDelivered  = "delivered"
	DeliveryFailed     = "failed"
	DeliverySuperseded = "superseded"
	DeliverySkipped    = "skipped"
)

// Delivery is one message Lathe sends out: a commit status to the
// project's forge, or an event to one of its webhooks. It is recorded with
// the change it reports and sent afterwards, tried again with growing
// waits for up to a day; a run never waits for it.
type Delivery struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// RunID is the run the status or event is about (0: none).
	RunID     int64 `json:"run_id,omitempty"`
	WebhookID int64 `json:"webhook_id,omitempty"`
	// Context is a status's context (lathe/<pipeline>), or an event's type
	// (run.success, job.running…).
	Context string `json:"context"`
	// State is a status's state: pending, waiting, running, success,
	// failure, error.
	State string `json:"state,omitempty"`
	// MessageID is a webhook message's webhook-id, the same on redelivery.
	MessageID string `json:"message_id,omitempty"`
	// Status: queued, delivered, failed, superseded or skipped.
	Status string `json:"status"`
	// Target is the link a status carries, or the URL an event was posted to.
	Target string `json:"target,omitempty"`
	// HTTPCode is the last try's answer (0: none came).
	HTTPCode int    `json:"http_code,omitempty"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	// Tries are the tries made, oldest first.
	Tries []DeliveryTry `json:"tries"`
	// RedeliveryOf is the delivery this one sends again.
	RedeliveryOf int64      `json:"redelivery_of,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	NextAt       *time.Time `json:"next_at,omitempty"`
	DeliveredAt  *time.Time `json:"delivered_at,omitempty"`
}

// DeliveryTry is one try of a delivery: when, the HTTP status answered
// (0: no answer came) and what went wrong.
type DeliveryTry struct {
	At       time.Time `json:"at"`
	HTTPCode int       `json:"http_code,omitempty"`
	Error    string    `json:"error,omitempty"`
}
