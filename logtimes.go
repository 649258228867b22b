package lathe

import (
	"bytes"
	"time"
)

// LogArrival says when the log chunk starting at Offset reached the server.
// The server keeps these beside a log's bytes, never in them, so a log
// reads the same with or without its times.
type LogArrival struct {
	Offset int64
	// At is zero when the time is unknown (a chunk stored before the
	// server kept times).
	At time.Time
}

// LogTimeLayout is the time at the head of each line of a log read with
// timestamps: UTC, microseconds, always the same width.
const LogTimeLayout = "2006-01-02T15:04:05.000000Z"

// unknownTime stands for a line whose arrival time is unknown, as wide as
// a time so columns stay aligned.
var unknownTime = []byte("-                          ")

// StampLines puts the arrival time of each line of data, the log bytes
// found at offset base, at the head of that line, followed by a space
// (as `docker logs --timestamps` does). A line's time is when the chunk
// holding its first byte arrived; data that starts inside a line gets the
// time of its first byte. arrivals are in offset order and cover data
// (see LogArrival).
func StampLines(data []byte, base int64, arrivals []LogArrival) []byte {
	return StampContinuing(data, base, arrivals, false)
}

// StampContinuing is StampLines for a piece of a log that follows another
// already stamped, as the events of a live stream do: when midLine is
// true, data starts inside a line whose time went out with the bytes
// before it, so its first line gets none; the lines after do.
func StampContinuing(data []byte, base int64, arrivals []LogArrival, midLine bool) []byte {
	if len(data) == 0 {
		return data
	}
	var out bytes.Buffer
	out.Grow(len(data) + (bytes.Count(data, []byte{'\n'})+1)*(len(LogTimeLayout)+1))
	next := 0 // arrivals[next] is the first chunk not known to start at or before the line
	// The lines of one chunk share its time: it is formatted once.
	stamp, stamped := make([]byte, 0, len(LogTimeLayout)+1), -1
	for pos := 0; pos < len(data); midLine = false {
		off := base + int64(pos)
		for next < len(arrivals) && arrivals[next].Offset <= off {
			next++
		}
		switch {
		case midLine:
		case next > 0 && !arrivals[next-1].At.IsZero():
			if stamped != next-1 {
				stamp = append(arrivals[next-1].At.UTC().AppendFormat(stamp[:0], LogTimeLayout), ' ')
				stamped = next - 1
			}
			out.Write(stamp)
		default:
			out.Write(unknownTime)
			out.WriteByte(' ')
		}
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			out.Write(data[pos:])
			break
		}
		out.Write(data[pos : pos+end+1])
		pos += end + 1
	}
	return out.Bytes()
}
