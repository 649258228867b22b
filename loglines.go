package lathe

import "time"

// A log read as lines (GET /api/v1/jobs/{job}/log/lines): its bytes are
// the plain read's; this view counts and selects lines and gives each its
// number, its offset and the time it reached the server.

// LogLine is one line of a log read as lines.
type LogLine struct {
	// Number counts the window's lines from 1.
	Number int64 `json:"number"`
	// Offset is the line's first byte, counted from the window's start.
	Offset int64 `json:"offset"`
	// Time is when the line reached the server (nil: unknown).
	Time *time.Time `json:"time"`
	// Text is the line without its newline, at most 64 KiB.
	Text string `json:"text"`
}

// LogLines is a page of a log's lines.
type LogLines struct {
	Attempt int `json:"attempt"`
	// Items are the page's lines, in the order asked.
	Items []LogLine `json:"items"`
	// Total counts the lines the filter selects; Lines counts all.
	Total int64 `json:"total"`
	Lines int64 `json:"lines"`
	// Complete: the window will not grow any more.
	Complete bool `json:"complete"`
	// Next is the start of the next page, nil on the last.
	Next *int64 `json:"next"`
}
