package notify

// historyLen is how many messages of a topic a history remembers.
const historyLen = 256

// history counts the messages of one topic published so far and keeps the
// keys of the last historyLen of them (keys[i%historyLen] the i-th), so a
// reader that took a mark can ask what came since without waiting for it.
// A wake of every waiter is noted as a message with the key "".
type history struct {
	n    uint64
	keys [historyLen]string
}

func (h *history) note(key string) {
	h.keys[h.n%historyLen] = key
	h.n++
}

// since calls fn with the key of each message after mark, oldest first,
// until fn returns false. It returns false, calling fn for none, when mark
// is not an earlier mark or more messages came than the history keeps.
func (h *history) since(mark uint64, fn func(key string) bool) bool {
	if h.n-mark > historyLen || mark > h.n {
		return false
	}
	for i := mark; i < h.n; i++ {
		if !fn(h.keys[i%historyLen]) {
			break
		}
	}
	return true
}
