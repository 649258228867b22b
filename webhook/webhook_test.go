package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/webhook"
)

// The Standard Webhooks reference vector (also computed with openssl).
func TestSignatureVector(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	err := webhook.Sign(h, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s; want %s", got, want)
	}
	if h.Get("webhook-id") != "msg_p5jXN8AQM9LWM0D4loKWxJek" || h.Get("webhook-timestamp") != "1614265330" {
		t.Errorf("headers %v", h)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	s := webhook.NewSecret()
	if b, err := webhook.ParseSecret(s); err != nil || len(b) != 32 {
		t.Errorf("NewSecret() = %q: %d bytes, %v", s, len(b), err)
	}
	for _, bad := range []string{"", "secret", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, err := webhook.ParseSecret(bad); err == nil || !strings.Contains(err.Error(), "whsec_") && !strings.Contains(err.Error(), "bytes") {
			t.Errorf("ParseSecret(%q) = %v", bad, err)
		}
	}
}
