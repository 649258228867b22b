package api

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
)

// badgeWords says each final status in words: a badge's result is read,
// not only seen as a colour.
var badgeWords = map[lathe.Status]string{
	lathe.StatusSuccess: "passing", lathe.StatusFailed: "failing", lathe.StatusCanceled: "canceled",
	lathe.StatusSkipped: "skipped", lathe.StatusLost: "lost", lathe.StatusTimedOut: "timed out",
}

// badgeColours are the shields.io colours of the results.
var badgeColours = map[string]string{"passing": "#2e7d32", "failing": "#c62828"}

// badge serves GET /api/v1/projects/{project}/badge.svg: the result of the
// newest finished run (of ?pipeline= and ?branch= when given) as an SVG
// badge (Zuul's badge). A public project's badge needs no login.
func (s *Server) badge(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	label := "build"
	if p := q.Get("pipeline"); p != "" {
		label = p
	}
	word := "no runs"
	run, err := s.store.LatestFinishedRun(r.Context(), projectOf(r).ID, q.Get("pipeline"), q.Get("branch"))
	switch {
	case errors.Is(err, lathe.ErrNotFound):
	case err != nil:
		return err
	default:
		if word = badgeWords[run.Status]; word == "" {
			word = string(run.Status)
		}
	}
	colour := badgeColours[word]
	if colour == "" {
		colour = "#616161"
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	// The result changes with every run: caches (such as a forge's image
	// proxy) must ask again.
	w.Header().Set("Cache-Control", "no-cache, max-age=0")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(badgeSVG(label, word, colour))
	return err
}

// badgeSVG draws a two-part badge: label on grey, result on colour, both
// as text (with a title and an aria-label for screen readers).
func badgeSVG(label, word, colour string) []byte {
	// About 7 px a character at 11 px Verdana, plus 10 px of padding.
	lw, ww := 7*utf8.RuneCountInString(label)+10, 7*utf8.RuneCountInString(word)+10
	l, m := html.EscapeString(label), html.EscapeString(word)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[2]s: %[3]s">`+
		`<title>%[2]s: %[3]s</title>`+
		`<rect width="%[4]d" height="20" fill="#555"/><rect x="%[4]d" width="%[5]d" height="20" fill="%[6]s"/>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%[7]d" y="14">%[2]s</text><text x="%[8]d" y="14">%[3]s</text></g></svg>`,
		lw+ww, l, m, lw, ww, colour, lw/2, lw+ww/2)
}
